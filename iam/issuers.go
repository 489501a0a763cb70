package iam

import "slices"

// HasIssuer reports whether at least one provider in any account registers the issuer URL (as
// Issuers lists). Lock-free and allocation-free (a binary search of the published state), for
// a key cache that registers issuers on first use and must not register one whose last
// provider is gone: the change that removed it is published before its watchers run.
func (r *Registry) HasIssuer(url string) bool {
	_, found := slices.BinarySearch(r.cur.Load().issuers, url)
	return found
}
