package agenttest

import (
	"net"
	"testing"
)

// NonLoopbackIP returns an IPv4 address of this machine that is not a
// loopback one, to connect from "the network" to a listener bound to all
// interfaces, or "" (and logs why) when there is none.
func NonLoopbackIP(t testing.TB) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Logf("interface addresses: %v", err)
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Log("this machine has no non-loopback IPv4 address to connect from")
	return ""
}
