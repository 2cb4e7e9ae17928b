package extension

import (
	"reflect"
	"testing"
)

func TestPermissions(t *testing.T) {
	ext := hub + "\ndefinition room {\n\trelation hub: hub\n\tpermission enter = hub->viewer\n\tpermission admire = hub->viewer\n}\n\ndefinition tag {}\n"
	got, err := Permissions([]byte(ext), "ext.zed")
	if err != nil {
		t.Fatalf("Permissions: %v", err)
	}
	want := map[string][]string{"hub": {"viewer"}, "room": {"admire", "enter"}, "tag": {}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Permissions = %v, want %v", got, want)
	}
	if _, err := Permissions([]byte("definition {"), "bad.zed"); err == nil {
		t.Fatal("Permissions of a syntax error: no error")
	}
}
