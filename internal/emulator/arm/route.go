package arm

import "strings"

type compiledRoute struct {
	Route
	segs []string // lower-case literals, or "{name}"
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func compileRoute(r Route) compiledRoute {
	segs := splitPath(r.Pattern)
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			segs[i] = strings.ToLower(s)
		}
	}
	return compiledRoute{Route: r, segs: segs}
}

// match reports whether the path segments fit the route and captures its parameters.
func (c *compiledRoute) match(method string, segs []string) (map[string]string, bool) {
	if !strings.EqualFold(c.Method, method) || len(segs) != len(c.segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, s := range c.segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			params[s[1:len(s)-1]] = segs[i]
			continue
		}
		if strings.ToLower(segs[i]) != s {
			return nil, false
		}
	}
	return params, true
}
