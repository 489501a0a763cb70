package jwks

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFreshness(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	const lo, hi = 5 * time.Minute, 24 * time.Hour
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", nil, lo},
		{"max-age", http.Header{"Cache-Control": {"public, max-age=3600"}}, time.Hour},
		{"max-age quoted", http.Header{"Cache-Control": {`max-age="3600"`}}, time.Hour},
		{"max-age clamped up", http.Header{"Cache-Control": {"max-age=60"}}, lo},
		{"max-age clamped down", http.Header{"Cache-Control": {"max-age=604800"}}, hi},
		{"max-age huge", http.Header{"Cache-Control": {"max-age=99999999999999999"}}, hi},
		{"max-age overflow", http.Header{"Cache-Control": {"max-age=99999999999999999999999"}}, hi},
		{"max-age negative", http.Header{"Cache-Control": {"max-age=-5"}}, lo},
		{"max-age bad", http.Header{"Cache-Control": {"max-age=soon"}}, lo},
		{"no-cache", http.Header{"Cache-Control": {"max-age=3600, no-cache"}}, lo},
		{"no-store", http.Header{"Cache-Control": {"no-store"}}, lo},
		{"s-maxage ignored", http.Header{"Cache-Control": {"s-maxage=7200"}}, lo},
		{"Age subtracted", http.Header{"Cache-Control": {"max-age=7200"}, "Age": {"3600"}}, time.Hour},
		{"Age huge", http.Header{"Cache-Control": {"max-age=7200"}, "Age": {"99999999999999999"}}, lo},
		{"Age overflowing", http.Header{"Cache-Control": {"max-age=7200"}, "Age": {"99999999999999999999"}}, lo},
		{"Expires against Date", http.Header{"Date": {date}, "Expires": {now.Add(2 * time.Hour).Format(http.TimeFormat)}}, 2 * time.Hour},
		{"Expires against now", http.Header{"Expires": {now.Add(3 * time.Hour).Format(http.TimeFormat)}}, 3 * time.Hour},
		{"Expires invalid", http.Header{"Expires": {"0"}}, lo},
		{"Expires centuries past with Age", http.Header{"Expires": {"Mon, 01 Jan 0001 00:00:00 GMT"}, "Age": {"1"}}, lo},
		{"Expires centuries ahead with Age", http.Header{"Expires": {"Fri, 31 Dec 9999 23:59:59 GMT"}, "Age": {"60"}}, hi},
		{"Expires in past", http.Header{"Expires": {now.Add(-time.Hour).Format(http.TimeFormat)}}, lo},
		{"max-age beats Expires", http.Header{"Cache-Control": {"max-age=3600"}, "Expires": {now.Add(9 * time.Hour).Format(http.TimeFormat)}}, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, freshness(tt.header, now, lo, hi))
		})
	}
}

func TestPublicAddress(t *testing.T) {
	tests := []struct {
		addr   string
		public bool
	}{
		{"8.8.8.8", true},
		{"140.82.112.3", true},
		{"2606:4700:4700::1111", true},
		{"127.0.0.1", false},
		{"127.1.2.3", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"172.16.5.4", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"fc00::1", false},
		{"fd00:ec2::254", false},
		{"0.0.0.0", false},
		{"::", false},
		{"100.64.0.1", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"64:ff9b::a9fe:a9fe", false},  // NAT64 of 169.254.169.254
		{"64:ff9b::808:808", true},     // NAT64 of 8.8.8.8
		{"64:ff9b:1::808:808", false},  // local-use NAT64
		{"2002:a9fe:a9fe::", false},    // 6to4 of 169.254.169.254
		{"2002:808:808::1", true},      // 6to4 of 8.8.8.8
		{"2001:0:4136:e378::1", false}, // Teredo
		{"2001:db8::1", false},
		{"198.18.0.1", false},
		{"::127.0.0.1", false},        // IPv4-compatible
		{"::8.8.8.8", false},          // IPv4-compatible, deprecated outright
		{"::ffff:0:7f00:1", false},    // IPv4-translated 127.0.0.1
		{"::ffff:0:a9fe:a9fe", false}, // IPv4-translated 169.254.169.254
		{"fec0::1", false},            // site-local
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			assert.Equal(t, tt.public, PublicAddress(netip.MustParseAddr(tt.addr)))
			err := checkDial("tcp", netip.AddrPortFrom(netip.MustParseAddr(tt.addr), 443).String(), nil)
			if tt.public {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrRefusedDestination)
			}
		})
	}
	assert.ErrorIs(t, checkDial("tcp", "not-an-address", nil), ErrRefusedDestination)
}
