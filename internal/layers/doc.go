// Package layers holds no code: its test checks the import graph against the floors of
// DESIGN.md, so that a dependency cannot creep into a package that must not have it (the AWS
// SDK into policy, jwks or verifier; jwx outside jwks's floor; anything above a package into
// it).
package layers
