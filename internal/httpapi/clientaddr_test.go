package httpapi

import (
	"net/http/httptest"
	"testing"
)

func TestClientAddr(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote, xff string
		trusted           bool
		want              string
	}{
		{"no proxies trusted: the header is ignored", "198.51.100.1:1", "203.0.113.5", false, "198.51.100.1"},
		{"untrusted peer: the header is ignored", "198.51.100.1:1", "203.0.113.5", true, "198.51.100.1"},
		{"trusted proxy: the hop before it", "10.1.1.1:1", "203.0.113.5", true, "203.0.113.5"},
		{"a forged left entry does not count", "10.1.1.1:1", "1.2.3.4, 203.0.113.5", true, "203.0.113.5"},
		{"two trusted proxies", "10.1.1.1:1", "203.0.113.5, 192.0.2.7", true, "203.0.113.5"},
		{"garbage stops at the last good hop", "10.1.1.1:1", "nonsense", true, "10.1.1.1"},
		{"all hops trusted: the first", "10.1.1.1:1", "10.2.2.2", true, "10.2.2.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			r.Header.Set("X-Forwarded-For", tt.xff)
			tr := proxies
			if !tt.trusted {
				tr = nil
			}
			if got := clientAddr(r, tr); got != tt.want {
				t.Errorf("clientAddr = %q, want %q", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"10.0.0.0/33", "not-an-ip", "10.0.0.1/8/2"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
}
