package validation

// Option configures Validate.
type Option func(*settings)

type settings struct {
	defaultSchema string
}

// WithDefaultSchema sets the schema a validation file without one of its
// own runs against (default: boxauthz's): boxauthz's composed with a schema
// extension, for one.
func WithDefaultSchema(text string) Option { return func(s *settings) { s.defaultSchema = text } }
