package appliance

// IntakeSettings decide which phones the box takes in and how accounts are
// handed out. (Filled in by the installer-workflows issue: extension pool,
// approval, allow and deny lists.)
type IntakeSettings struct{}

func (s IntakeSettings) normalize() (IntakeSettings, error) { return s, nil }
