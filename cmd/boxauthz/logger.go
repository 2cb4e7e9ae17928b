package main

import (
	"fmt"
	"io"
	"log/slog"
)

// newLogger is the process's logger on w: level and format as the
// environment names them, text at info when unset. A log collector that
// parses lines wants json: one object a line, the same keys as text.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if level != "" {
		if err := lv.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("BOXAUTHZ_LOG_LEVEL=%q: want debug, info, warn or error", level)
		}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("BOXAUTHZ_LOG_FORMAT=%q: want text or json", format)
	}
}
