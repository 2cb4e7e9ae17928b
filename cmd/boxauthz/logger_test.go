package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLoggerFormats(t *testing.T) {
	tests := []struct {
		level, format string
		wantErr       string
		check         func(t *testing.T, out string)
	}{
		{format: "json", check: func(t *testing.T, out string) {
			var line map[string]any
			if err := json.Unmarshal([]byte(out), &line); err != nil {
				t.Fatalf("json log line %q: %v", out, err)
			}
			if line["msg"] != "hello" || line["source"] != "bench" || line["level"] != "INFO" {
				t.Errorf("json log line = %v, want msg, source and level", line)
			}
		}},
		{format: "", check: func(t *testing.T, out string) {
			if !strings.Contains(out, "msg=hello source=bench") {
				t.Errorf("text log line = %q", out)
			}
		}},
		{level: "warn", format: "text", check: func(t *testing.T, out string) {
			if out != "" {
				t.Errorf("an info line at level warn was logged: %q", out)
			}
		}},
		{format: "yaml", wantErr: `BOXAUTHZ_LOG_FORMAT="yaml": want text or json`},
		{level: "loud", wantErr: `BOXAUTHZ_LOG_LEVEL="loud": want debug, info, warn or error`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		l, err := newLogger(&buf, tt.level, tt.format)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("newLogger(%q, %q) error = %v, want %q", tt.level, tt.format, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("newLogger(%q, %q): %v", tt.level, tt.format, err)
		}
		l.Info("hello", "source", "bench")
		tt.check(t, strings.TrimSpace(buf.String()))
	}
}
