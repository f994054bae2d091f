package discovery

import (
	"net"
	"strconv"
	"strings"
)

// MetaAdmin is the [Instance].Meta key under which an instance names its
// admin listener, the one that serves its operations dashboard (see the
// service package's Config.AdminAddr), so that a dashboard hub found
// through the same registry can reach it. The value is "host:port", or a
// port alone (or ":port") on the instance's own Address. Set it with
// [Instance.WithAdmin]; read it with [Instance.AdminAddr].
const MetaAdmin = "admin"

// WithAdmin returns a copy of i whose Meta names the admin listener bound
// at addr, such as the service's AdminAddr(): its port alone when addr's
// host is unspecified (0.0.0.0 or ::), so that callers dial it on i's
// Address, else "host:port". A nil addr returns i unchanged. i's Meta is
// copied, never modified:
//
//	discovery.Instance{Service: "orders", Port: svc.HTTPAddr().Port}.WithAdmin(svc.AdminAddr())
func (i Instance) WithAdmin(addr *net.TCPAddr) Instance {
	if addr == nil {
		return i
	}
	meta := make(map[string]string, len(i.Meta)+1)
	for k, v := range i.Meta {
		meta[k] = v
	}
	if addr.IP == nil || addr.IP.IsUnspecified() {
		meta[MetaAdmin] = strconv.Itoa(addr.Port)
	} else {
		meta[MetaAdmin] = addr.String()
	}
	i.Meta = meta
	return i
}

// AdminAddr returns the "host:port" of i's admin listener, from
// Meta[[MetaAdmin]]: a port alone (or ":port") is on i's Address, or on
// 127.0.0.1 when i has none. It reports false when i names no admin
// listener or names one that is not a host:port or a port.
func (i Instance) AdminAddr() (string, bool) {
	v, ok := i.Meta[MetaAdmin]
	if !ok {
		return "", false
	}
	host, port := "", v
	if strings.Contains(v, ":") {
		var err error
		if host, port, err = net.SplitHostPort(v); err != nil {
			return "", false
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", false
	}
	if host == "" {
		host = i.Address
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), true
}
