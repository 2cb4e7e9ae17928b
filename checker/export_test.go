package checker

// SetOneRequest makes a ask each decision's questions in one
// CheckBulkPermissions, as it does under saturation, so that tests cover
// both ways of asking.
func SetOneRequest(a *Authorizer, on bool) { a.oneRequest = on }
