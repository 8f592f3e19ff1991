package web

// Deps are the other components the pages use.
type Deps struct{}
