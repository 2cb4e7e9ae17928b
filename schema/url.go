package schema

import (
	"fmt"
	"net/url"
	"strings"
)

// ItemForms is what ParseItemURL reads, for error messages.
const ItemForms = `"folder:<id>", "file:<id>", or an http(s) URL ending /folders/<id> or /files/<id> ` +
	`(such as https://api.box.com/2.0/folders/<id> or https://api.box.com/2.0/files/<id>)`

// ParseItemURL reads an item as a request names it: "folder:<id>",
// "file:<id>", or a Box URL of the item, an http(s) URL with a host whose
// path ends /folders/<id> or /files/<id> (Box's API URLs end
// /2.0/folders/<id>), with no user, query or fragment. Anything with a '/'
// is read as a URL, so an id never hides a path.
func ParseItemURL(s string) (ItemRef, error) {
	if !strings.Contains(s, "/") {
		return ParseItemRef(s)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#") {
		return ItemRef{}, fmt.Errorf("%q is not an http(s) URL without user, query or fragment", s)
	}
	parts := strings.Split(u.EscapedPath(), "/")
	if len(parts) < 3 {
		return ItemRef{}, fmt.Errorf("the path of %q does not end /folders/<id> or /files/<id>", s)
	}
	r := ItemRef{ID: parts[len(parts)-1]}
	switch kind := parts[len(parts)-2]; kind {
	case "folders":
		r.Type = TypeFolder
	case "files":
		r.Type = TypeFile
	default:
		return ItemRef{}, fmt.Errorf("the URL %q names %q, not folders or files", s, kind)
	}
	if err := r.Validate(); err != nil {
		return ItemRef{}, err
	}
	return r, nil
}
