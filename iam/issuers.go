package iam

// HasIssuer reports whether at least one provider in any account registers the issuer URL (as
// Issuers lists). Lock-free and allocation-free (a probe of the published issuer table), for
// a key cache that registers issuers on first use and must not register one whose last
// provider is gone: the change that removed it is published before its watchers run.
func (r *Registry) HasIssuer(url string) bool {
	_, found := r.issuerID(r.cur.Load(), url)
	return found
}
