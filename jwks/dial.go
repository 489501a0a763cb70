package jwks

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// nonPublic lists address ranges that are refused at dial time unless
// Options.AllowPrivateAddresses is set, beyond what netip's predicates cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001::/32"),       // Teredo: embeds an obfuscated IPv4 address
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated by RFC 4291)
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated (RFC 2765)
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated, still routed privately)
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64 prefix (RFC 6052)
	sixToFour = netip.MustParsePrefix("2002::/16")    // 6to4 (RFC 3056)
)

// PublicAddress reports whether a connection to addr is allowed when
// Options.AllowPrivateAddresses is false: it must not be loopback, private
// (RFC 1918, RFC 4193), link-local (including 169.254.169.254), multicast,
// unspecified, or in a reserved, documentation, shared, Teredo, site-local,
// IPv4-compatible or IPv4-translated range.
// IPv6 addresses that embed an IPv4 address (IPv4-mapped, NAT64 64:ff9b::/96,
// 6to4) are judged by the IPv4 address they reach.
func PublicAddress(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.Is6() {
		b := addr.As16()
		switch {
		case nat64.Contains(addr):
			return PublicAddress(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(addr):
			return PublicAddress(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if !addr.IsValid() || addr.IsUnspecified() || addr.IsLoopback() || addr.IsPrivate() ||
		addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() || addr.IsMulticast() ||
		addr.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// checkDial is a net.Dialer Control function: it runs after name
// resolution, on the address actually being connected to, so a DNS answer
// that changes between checks (rebinding) cannot slip past it.
func checkDial(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &DestinationError{Address: address}
	}
	if !PublicAddress(ap.Addr()) {
		return &DestinationError{Address: address}
	}
	return nil
}

// buildTransport derives the cache's transport from the caller's client.
// See Options.HTTPClient for what is kept and what is replaced.
// Connections it dials are closed when done is (Close): net/http finishes
// dials in the background after their request is cancelled and pools the
// result, which would otherwise leave connection goroutines behind.
func buildTransport(client *http.Client, allowPrivate bool, done context.Context) (http.RoundTripper, *http.Transport, error) {
	var rt http.RoundTripper = http.DefaultTransport
	if client != nil && client.Transport != nil {
		rt = client.Transport
	}
	base, ok := rt.(*http.Transport)
	if !ok {
		if !allowPrivate {
			return nil, nil, errors.New("jwks: HTTPClient.Transport is not an *http.Transport, so destinations cannot be checked; set AllowPrivateAddresses to use it as is")
		}
		return rt, nil, nil
	}
	t := base.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	if t.TLSClientConfig.InsecureSkipVerify {
		return nil, nil, errors.New("jwks: HTTPClient's TLS config sets InsecureSkipVerify")
	}
	if t.TLSClientConfig.MinVersion < tls.VersionTLS12 {
		t.TLSClientConfig.MinVersion = tls.VersionTLS12
	}
	// The cache's own TLS config (pinning, minimum version) must apply, and
	// DialContext takes priority over Dial, so only DialTLS* need clearing.
	t.DialTLSContext = nil
	//lint:ignore SA1019 cleared so that a caller's DialTLS cannot bypass the cache's TLS checks
	t.DialTLS = nil
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	if !allowPrivate {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: checkDial}).DialContext
		t.Proxy = nil
		t.OnProxyConnectResponse = nil
		t.GetProxyConnectHeader = nil
	}
	t.DialContext = closeWith(dial, done)
	return t, t, nil
}

type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// closeWith wraps dial so that its connections are closed when done is.
func closeWith(dial dialFunc, done context.Context) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if done.Err() != nil {
			return nil, ErrClosed
		}
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &closingConn{Conn: conn, stop: context.AfterFunc(done, func() { _ = conn.Close() })}, nil
	}
}

// closingConn is a connection that the cache closes on Close.
type closingConn struct {
	net.Conn
	stop func() bool
}

// Close closes the connection and forgets the close-on-Close hook.
func (c *closingConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// rootsTransport clones t to trust only roots (IssuerConfig.CAPEM). The clone keeps t's
// dialer (destination checks, close on Close) and its minimum TLS version (1.2 or more).
func rootsTransport(t *http.Transport, roots *x509.CertPool) *http.Transport {
	r := t.Clone()
	r.TLSClientConfig = r.TLSClientConfig.Clone()
	r.TLSClientConfig.RootCAs = roots
	return r
}

// parseCAPEM reads IssuerConfig.CAPEM: one or more "CERTIFICATE" blocks, every one of which
// must parse; other blocks and input without a certificate are errors.
func parseCAPEM(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, not CERTIFICATE", n, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("no CERTIFICATE block")
	}
	return pool, nil
}

// pinnedTransport clones t with a TLS check that some certificate in a
// verified chain has one of the pinned SHA-1 thumbprints. Only verified
// chains count: a certificate that the server merely sends along is public
// and anyone can append it, so matching it would let any certificate from
// any trusted CA through. Pinned issuers get their own transport so that
// connections are never shared with unpinned ones.
func pinnedTransport(t *http.Transport, pins map[[20]byte]bool) *http.Transport {
	p := t.Clone()
	p.TLSClientConfig = p.TLSClientConfig.Clone()
	p.TLSClientConfig.VerifyConnection = func(cs tls.ConnectionState) error {
		for _, chain := range cs.VerifiedChains {
			for _, cert := range chain {
				if pins[sha1.Sum(cert.Raw)] {
					return nil
				}
			}
		}
		return ErrThumbprintMismatch
	}
	return p
}
