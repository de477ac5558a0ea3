package arm

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// maxBody is the largest request body the engine reads.
const maxBody = 4 << 20

// Kinds of ARM request.
const (
	kindNotFound = iota
	kindRoute
	kindResource
	kindCollection
	kindAction
	kindOperation
	kindGenericList
)

// target is what an ARM path addresses.
type target struct {
	kind   int
	typ    string // the resource type, for counters and faults
	route  *compiledRoute
	params map[string]string
	id     ID
	idStr  string
	rt     *ResourceType
	scope  string // a collection's parent: subscription, resource group or resource
	action string
	opID   string
	result bool // operationresults rather than operations
	err    *Error
}

// ServeHTTP serves the ARM paths: /subscriptions/... and /providers/....
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	rid := uuid.NewString()
	h.Set("x-ms-request-id", rid)
	corr := r.Header.Get("x-ms-correlation-request-id")
	if corr == "" {
		corr = rid
	}
	h.Set("x-ms-correlation-request-id", corr)
	h.Set("x-ms-routing-request-id", "STRATAEMULATOR:"+time.Now().UTC().Format("20060102T150405Z")+":"+rid)
	rec := &recorder{ResponseWriter: w}
	typ := ""
	defer func() { e.count(r.Method, typ, rec.status) }()
	e.serve(rec, r, &typ)
}

func (e *Engine) serve(w http.ResponseWriter, r *http.Request, typ *string) {
	segs := splitPath(r.URL.Path)
	if len(segs) == 0 || !strings.EqualFold(segs[0], "subscriptions") && !strings.EqualFold(segs[0], "providers") {
		writeError(w, Errorf(http.StatusNotFound, "InvalidRequestUri", "The request URI '%s' is not valid.", r.URL.Path))
		return
	}
	apiVersion := r.URL.Query().Get("api-version")
	if apiVersion == "" {
		writeError(w, Errorf(http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests."))
		return
	}
	var p Principal
	if e.auth != nil {
		var aerr *Error
		if p, aerr = e.auth(r); aerr != nil {
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://`+r.Host+`/", error="invalid_token", error_description="`+strings.ReplaceAll(aerr.Message, `"`, "'")+`"`)
			writeError(w, aerr)
			return
		}
	}
	var body []byte
	if r.Body != nil && (r.Method == http.MethodPut || r.Method == http.MethodPatch || r.Method == http.MethodPost) {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			writeError(w, Errorf(http.StatusBadRequest, "InvalidRequestContent", "Reading the request content: %v", err))
			return
		}
		if len(b) > maxBody {
			writeError(w, Errorf(http.StatusRequestEntityTooLarge, "RequestContentTooLarge", "The request content is larger than %d bytes.", maxBody))
			return
		}
		body = b
	}

	e.mu.Lock()
	locked := true
	changed := false
	defer func() {
		if locked {
			e.scheduleLocked()
			e.mu.Unlock()
		}
		if changed && e.onChange != nil {
			e.onChange()
		}
	}()
	changed = e.completeDue()

	sub := ""
	if strings.EqualFold(segs[0], "subscriptions") && len(segs) >= 2 {
		sub = segs[1]
		s, ok := e.subscription(sub)
		if !ok {
			writeError(w, Errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", sub))
			return
		}
		if e.auth != nil && !strings.EqualFold(s.TenantID, p.TenantID) {
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://`+r.Host+`/`+s.TenantID+`", error="invalid_token", error_description="The access token is from the wrong issuer."`)
			writeError(w, Errorf(http.StatusUnauthorized, "InvalidAuthenticationTokenTenant",
				"The access token is from the wrong issuer 'https://sts.windows.net/%s/'. It must match the tenant 'https://sts.windows.net/%s/' associated with this subscription. Please use the authority (URL) 'https://%s/%s' to get the token.",
				p.TenantID, s.TenantID, r.Host, s.TenantID))
			return
		}
	}

	class := classOf(r.Method)
	now := e.now()
	remaining, wait := e.throttle.take(now, bucketKey{strings.ToLower(sub), p.ObjectID, class})
	if sub != "" {
		w.Header().Set("x-ms-ratelimit-remaining-subscription-"+class, strconv.Itoa(remaining))
	} else if class != classDeletes {
		w.Header().Set("x-ms-ratelimit-remaining-tenant-"+class, strconv.Itoa(remaining))
	}
	if wait > 0 {
		secs := int(wait.Seconds() + 0.999)
		secs = max(secs, 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		if ts := e.throttle.opts.TimeScale; ts > 0 && ts != 1 {
			w.Header().Set("Retry-After-Ms", strconv.FormatInt(max(wait.Milliseconds(), 1), 10))
		}
		writeError(w, Errorf(http.StatusTooManyRequests, "TooManyRequests",
			"Number of '%s' requests for subscription '%s' actor '%s' exceeded. Please try again after '%d' seconds after the additional tokens are replenished. Please refer to https://aka.ms/arm-throttling for additional information.",
			strings.TrimSuffix(class, "s"), sub, p.ObjectID, secs))
		return
	}

	t := e.classify(r.Method, segs)
	*typ = t.typ
	if rule := e.faults.pick(e.seed, r.Method, t.typ, FaultStatus, FaultDrop); rule != nil {
		if rule.Kind == FaultDrop {
			e.scheduleLocked()
			e.mu.Unlock()
			locked = false
			e.log.Debug("fault: dropping the connection", "method", r.Method, "path", r.URL.Path)
			panic(http.ErrAbortHandler)
		}
		ferr := rule.errorFor()
		if ferr.Status == http.StatusTooManyRequests || rule.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(rule.retryAfter()))
		}
		writeError(w, ferr)
		return
	}
	if t.err != nil {
		writeError(w, t.err)
		return
	}
	c := &call{e: e, w: w, r: r, t: t, body: body, apiVersion: apiVersion, principal: p}
	c.dispatch()
	changed = changed || c.changed
}

// classify finds what an ARM path addresses.
func (e *Engine) classify(method string, segs []string) target {
	for i := range e.routes {
		if params, ok := e.routes[i].match(method, segs); ok {
			return target{kind: kindRoute, route: &e.routes[i], params: params, typ: routeType(e.routes[i].Pattern)}
		}
	}
	notFound := target{kind: kindNotFound, err: Errorf(http.StatusNotFound, "InvalidRequestUri",
		"No route registered for '%s /%s'.", method, strings.Join(segs, "/"))}
	if !strings.EqualFold(segs[0], "subscriptions") || len(segs) < 3 {
		return notFound
	}
	sub, rest := segs[1], segs[2:]
	switch {
	case len(rest) == 1 && strings.EqualFold(rest[0], "resources"):
		return target{kind: kindGenericList, typ: "Microsoft.Resources/resources", scope: "/subscriptions/" + sub}
	case strings.EqualFold(rest[0], "resourcegroups"):
		rgType := e.types[strings.ToLower(TypeResourceGroup)]
		if rgType == nil {
			return notFound
		}
		switch {
		case len(rest) == 1:
			return target{kind: kindCollection, typ: TypeResourceGroup, rt: rgType, scope: "/subscriptions/" + sub}
		case len(rest) == 2:
			id := ID{Subscription: sub, ResourceGroup: rest[1], Name: rest[1]}
			return target{kind: kindResource, typ: TypeResourceGroup, rt: rgType, id: id, idStr: id.String()}
		case len(rest) == 3 && strings.EqualFold(rest[2], "resources"):
			return target{kind: kindGenericList, typ: "Microsoft.Resources/resources", scope: ID{Subscription: sub, ResourceGroup: rest[1]}.ResourceGroupID()}
		case len(rest) == 3 && method == http.MethodPost:
			id := ID{Subscription: sub, ResourceGroup: rest[1], Name: rest[1]}
			return target{kind: kindAction, typ: TypeResourceGroup, rt: rgType, id: id, idStr: id.String(), action: rest[2]}
		case len(rest) >= 5 && strings.EqualFold(rest[2], "providers"):
			return e.classifyProvider(method, sub, rest[1], rest[3:])
		}
	case strings.EqualFold(rest[0], "providers") && len(rest) >= 3:
		ns, p := rest[1], rest[2:]
		if len(p) == 4 && strings.EqualFold(p[0], "locations") && (strings.EqualFold(p[2], "operations") || strings.EqualFold(p[2], "operationresults")) {
			return target{kind: kindOperation, typ: ns + "/locations/" + strings.ToLower(p[2]), opID: p[3], result: strings.EqualFold(p[2], "operationresults")}
		}
		if len(p) == 1 {
			rt := e.types[strings.ToLower(ns+"/"+p[0])]
			if rt == nil {
				return target{kind: kindNotFound, typ: ns + "/" + p[0], err: e.unknownType(ns, p[0])}
			}
			return target{kind: kindCollection, typ: rt.Type, rt: rt, scope: "/subscriptions/" + sub}
		}
	}
	return notFound
}

// classifyProvider classifies .../resourceGroups/{rg}/providers/{ns}/{type}/{name}/....
func (e *Engine) classifyProvider(method, sub, rg string, p []string) target {
	ns, rest := p[0], p[1:]
	var types, names []string
	for i := 0; i < len(rest); i += 2 {
		types = append(types, rest[i])
		if i+1 < len(rest) {
			names = append(names, rest[i+1])
		}
	}
	full := ns + "/" + strings.Join(types, "/")
	rt := e.types[strings.ToLower(full)]
	if len(types) == len(names) { // a resource
		if rt == nil {
			return target{kind: kindNotFound, typ: full, err: e.unknownType(ns, strings.Join(types, "/"))}
		}
		id := canonicalID(rt, sub, rg, names)
		return target{kind: kindResource, typ: rt.Type, rt: rt, id: id, idStr: id.String()}
	}
	if rt != nil { // a collection
		scope := ID{Subscription: sub, ResourceGroup: rg, Name: rg}
		if len(names) > 0 {
			scope = canonicalID(rt, sub, rg, names)
			scope.Types, scope.Names = scope.Types[:len(names)], scope.Names[:len(names)]
			scope.Name = names[len(names)-1]
		}
		return target{kind: kindCollection, typ: rt.Type, rt: rt, scope: scope.String()}
	}
	if method == http.MethodPost && len(names) > 0 {
		pfull := ns + "/" + strings.Join(types[:len(types)-1], "/")
		if prt := e.types[strings.ToLower(pfull)]; prt != nil {
			id := canonicalID(prt, sub, rg, names)
			return target{kind: kindAction, typ: prt.Type, rt: prt, id: id, idStr: id.String(), action: types[len(types)-1]}
		}
	}
	return target{kind: kindNotFound, typ: full, err: e.unknownType(ns, strings.Join(types, "/"))}
}

// canonicalID builds a resource ID with the type's own casing of the namespace and types.
func canonicalID(rt *ResourceType, sub, rg string, names []string) ID {
	parts := strings.Split(rt.Type, "/")
	id := ID{Subscription: sub, ResourceGroup: rg, Namespace: parts[0]}
	for i, n := range names {
		if 1+i < len(parts) {
			id.Types = append(id.Types, parts[1+i])
			id.Names = append(id.Names, n)
			id.Name = n
		}
	}
	return id
}

func (e *Engine) unknownType(ns, typ string) *Error {
	if !e.namespace[strings.ToLower(ns)] {
		return Errorf(http.StatusBadRequest, "InvalidResourceNamespace", "The resource namespace '%s' is invalid.", ns)
	}
	return Errorf(http.StatusNotFound, "InvalidResourceType", "The resource type '%s' could not be found in the namespace '%s'.", typ, ns)
}

// routeType names a route for the counters: its pattern without the subscription.
func routeType(pattern string) string {
	segs := splitPath(pattern)
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		segs = segs[2:]
	}
	if len(segs) >= 2 && strings.EqualFold(segs[0], "providers") {
		segs = segs[1:]
	}
	if len(segs) == 0 {
		return "Microsoft.Resources/subscriptions"
	}
	return strings.Join(segs, "/")
}

// call is one ARM request being served under the engine's lock.
type call struct {
	e          *Engine
	w          http.ResponseWriter
	r          *http.Request
	t          target
	body       []byte
	apiVersion string
	principal  Principal
	changed    bool
}

func (c *call) fail(err *Error) { writeError(c.w, err) }

func (c *call) dispatch() {
	t := c.t
	switch t.kind {
	case kindRoute:
		c.route()
	case kindOperation:
		c.operation()
	case kindGenericList:
		if c.r.Method != http.MethodGet {
			c.fail(methodNotAllowed(c.r.Method))
			return
		}
		c.genericList()
	case kindCollection:
		if c.r.Method != http.MethodGet {
			c.fail(methodNotAllowed(c.r.Method))
			return
		}
		c.list()
	case kindAction:
		c.doAction()
	case kindResource:
		switch c.r.Method {
		case http.MethodGet, http.MethodHead:
			c.get()
		case http.MethodPut:
			c.put()
		case http.MethodPatch:
			c.patch()
		case http.MethodDelete:
			c.delete()
		default:
			c.fail(methodNotAllowed(c.r.Method))
		}
	default:
		c.fail(t.err)
	}
}

func methodNotAllowed(m string) *Error {
	return Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested resource does not support http method '%s'.", m)
}

// parseObject decodes a JSON object body; an empty body is an empty object.
func parseObject(b []byte) (map[string]any, *Error) {
	m := map[string]any{}
	if len(strings.TrimSpace(string(b))) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		msg := "the content must be a JSON object"
		if err != nil {
			msg = err.Error()
		}
		return nil, Errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and cannot be deserialized: %s.", msg)
	}
	return m, nil
}

// notFound is the 404 of a missing resource.
func notFound(id ID) *Error {
	if id.Namespace == "" {
		return Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", id.ResourceGroup)
	}
	var path strings.Builder
	path.WriteString(id.Namespace)
	for i := range id.Types {
		if i > 0 {
			path.WriteString("/" + id.Names[i-1])
		}
		path.WriteString("/" + id.Types[i])
	}
	path.WriteString("/" + id.Name)
	return Errorf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		path.String(), id.ResourceGroup)
}

// opInFlight returns the operation in progress on an entry, or nil.
func (e *Engine) opInFlight(en *entry) *Operation {
	if en == nil || en.op == "" {
		return nil
	}
	if op := e.ops[en.op]; op != nil && op.Status == StatusInProgress {
		return op
	}
	return nil
}

// checkScope checks that the resource group and the parent of a resource exist; for writes,
// also that the resource group is not being deleted.
func (c *call) checkScope(id ID, rt *ResourceType, write bool) *Error {
	e := c.e
	if id.Namespace == "" {
		return nil
	}
	rg := e.st.get(Key(id.ResourceGroupID()))
	if rg == nil {
		return notFound(ID{Subscription: id.Subscription, ResourceGroup: id.ResourceGroup, Name: id.ResourceGroup})
	}
	if op := e.opInFlight(rg); write && op != nil && op.Verb == "delete" {
		return Errorf(http.StatusConflict, "ResourceGroupBeingDeleted",
			"The resource group '%s' is in deprovisioning state and cannot perform this operation.", id.ResourceGroup)
	}
	if len(id.Types) > 1 {
		if e.st.get(Key(id.Parent())) == nil {
			return Errorf(http.StatusNotFound, "ParentResourceNotFound",
				"Can not perform requested operation on nested resource. Parent resource '%s' not found.", id.Names[len(id.Names)-2])
		}
	}
	return nil
}

// render returns the body a GET answers for an entry.
func (e *Engine) render(tx Tx, en *entry) map[string]any {
	rt := e.types[strings.ToLower(en.res.Type)]
	if rt != nil && rt.Render != nil {
		if b := rt.Render(tx, en.res); b != nil {
			return b
		}
	}
	return en.res.Body
}

// readTx is a Tx for reads: it does not advance the request sequence.
func (c *call) readTx() *txn {
	return &txn{e: c.e, host: c.r.Host, seed: hashOf(c.e.seed, "read"), undo: map[string]*entry{}}
}

func (c *call) writeResource(status int, en *entry) {
	b := c.e.render(c.readTx(), en)
	if et, ok := b["etag"].(string); ok && et != "" {
		c.w.Header().Set("ETag", et)
	}
	writeJSON(c.w, status, b)
}

func (c *call) get() {
	t := c.t
	if err := c.checkScope(t.id, t.rt, false); err != nil {
		if c.r.Method == http.MethodHead {
			c.w.WriteHeader(err.Status)
			return
		}
		c.fail(err)
		return
	}
	en := c.e.st.get(Key(t.idStr))
	if c.r.Method == http.MethodHead {
		if en == nil {
			c.w.WriteHeader(http.StatusNotFound)
		} else {
			c.w.WriteHeader(http.StatusNoContent)
		}
		return
	}
	if en == nil {
		c.fail(notFound(t.id))
		return
	}
	c.writeResource(http.StatusOK, en)
}

// etagMatches reports whether an If-Match / If-None-Match list names the etag.
func etagMatches(list, etag string) bool {
	norm := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "W/") }
	for _, x := range strings.Split(list, ",") {
		if strings.TrimSpace(x) == "*" || (etag != "" && norm(x) == norm(etag)) {
			return true
		}
	}
	return false
}

func checkPrecondition(h http.Header, en *entry) *Error {
	cur := ""
	if en != nil {
		cur, _ = en.res.Body["etag"].(string)
	}
	pf := Errorf(http.StatusPreconditionFailed, "PreconditionFailed",
		"The condition specified using HTTP conditional header(s) is not met.")
	if im := h.Get("If-Match"); im != "" && (en == nil || !etagMatches(im, cur)) {
		return pf
	}
	if inm := h.Get("If-None-Match"); inm != "" && en != nil && etagMatches(inm, cur) {
		return pf
	}
	return nil
}

func anotherOperation(op *Operation, host string) *Error {
	return Errorf(http.StatusConflict, "AnotherOperationInProgress",
		"Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: %s",
		"https://"+host+op.path(op.Mode == Location))
}

func (c *call) put() {
	body, err := parseObject(c.body)
	if err != nil {
		c.fail(err)
		return
	}
	c.write(body, false)
}

// write creates or updates a resource from a full body (PUT, or PATCH after merging).
func (c *call) write(body map[string]any, patch bool) {
	e, t, rt := c.e, c.t, c.t.rt
	if err := c.checkScope(t.id, rt, true); err != nil {
		c.fail(err)
		return
	}
	key := Key(t.idStr)
	en := e.st.get(key)
	if op := e.opInFlight(en); op != nil {
		c.fail(anotherOperation(op, c.r.Host))
		return
	}
	if rt.ETag {
		if err := checkPrecondition(c.r.Header, en); err != nil {
			c.fail(err)
			return
		}
	}
	if en == nil {
		if err := CheckName(rt, t.id.Name); err != nil {
			c.fail(err)
			return
		}
	}
	loc := ""
	if rt.Located {
		given, _ := body["location"].(string)
		if given == "" {
			c.fail(Errorf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition."))
			return
		}
		li, ok := e.location(given)
		if !ok {
			names := make([]string, len(e.locations))
			for i, l := range e.locations {
				names[i] = l.DisplayName
			}
			c.fail(Errorf(http.StatusBadRequest, "LocationNotAvailableForResourceType",
				"The provided location '%s' is not available for resource type '%s'. List of available regions for the resource type is '%s'.",
				given, rt.Type, strings.ToLower(strings.ReplaceAll(strings.Join(names, ","), " ", ""))))
			return
		}
		loc = li.Name
		if en != nil {
			if old, _ := en.res.Body["location"].(string); old != "" && normLocation(old) != loc {
				if t.id.Namespace == "" {
					c.fail(Errorf(http.StatusConflict, "InvalidResourceGroupLocation",
						"Invalid resource group location '%s'. The Resource group already exists in location '%s'.", given, old))
				} else {
					c.fail(Errorf(http.StatusConflict, "InvalidResourceLocation",
						"The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
						t.id.Name, old, t.id.ResourceGroup, given))
				}
				return
			}
		}
	}
	if err := CheckTags(rt.Tags, body["tags"]); err != nil {
		c.fail(err)
		return
	}
	tx := e.newTx(c.r.Host)
	var existing *Resource
	if en != nil {
		existing = copyResource(en.res)
	}
	req := &PutRequest{ID: t.id, Body: body, Existing: existing, Header: c.r.Header}
	if rt.Prepare != nil {
		if err := rt.Prepare(tx, req); err != nil {
			tx.rollback()
			c.fail(err)
			return
		}
	}
	if rt.GloballyUnique {
		for _, o := range e.st.ofType(rt.Type, "") {
			if Key(o.res.ID) != key && strings.EqualFold(o.res.Name(), t.id.Name) {
				tx.rollback()
				code := rt.GlobalNameTakenCode
				if code == "" {
					code = "ResourceNameAlreadyTaken"
				}
				c.fail(Errorf(http.StatusConflict, code, "The %s named %s is already taken.", typeWords(rt.Type), t.id.Name))
				return
			}
		}
	}
	b := normalizeJSON(req.Body)
	resID := t.idStr
	if en != nil {
		resID = en.res.ID
	}
	b["id"], b["name"], b["type"] = resID, ParseID(resID).Name, rt.Type
	if loc != "" {
		b["location"] = loc
	}
	if rt.ETag {
		b["etag"] = e.newETag()
	}
	res := &Resource{ID: resID, Type: rt.Type, Body: b}
	verb, lro := "create", rt.Create
	if en != nil {
		verb, lro = "update", rt.Update
	}
	state := StatusSucceeded
	if lro.Mode != Sync {
		state = map[string]string{"create": "Creating", "update": "Updating"}[verb]
	}
	res.Properties()["provisioningState"] = state
	n := &entry{res: res, parent: parentKey(t.id)}
	if en != nil {
		n.seq = en.seq
	} else {
		e.st.seq++
		n.seq = e.st.seq
	}
	tx.put(key, n)
	var op *Operation
	if lro.Mode != Sync {
		op = c.startOp(n, verb, lro)
	}
	tx.commit()
	c.changed = true
	e.completeDue()

	status := lro.Status
	if status == 0 {
		switch {
		case lro.Mode == Location:
			status = http.StatusAccepted
		case verb == "create":
			status = http.StatusCreated
		default:
			status = http.StatusOK
		}
	}
	if patch && lro.Mode == Sync {
		status = http.StatusOK
	}
	if op != nil {
		c.lroHeaders(op, lro.Mode)
	}
	if lro.Mode == Location && status == http.StatusAccepted {
		writeJSON(c.w, status, nil)
		return
	}
	// The answer shows the state the write started with (Creating, Updating), as Azure's
	// does, even when a zero-latency operation has already ended.
	c.writeResource(status, n)
}

// startOp starts the operation of a write, timed by the latency model, failing when a fault
// rule says so.
func (c *call) startOp(en *entry, verb string, lro LRO) *Operation {
	e, rt := c.e, c.t.rt
	name := lro.Operation
	if name == "" {
		name = rt.Type + "." + verb
	}
	d := e.latency.Duration(name, unit(hashOf(e.seed, "latency", Key(en.res.ID), e.reqSeq)))
	var fail *Error
	if rule := e.faults.pick(e.seed, c.r.Method, rt.Type, FaultLROFailed); rule != nil {
		fail = rule.errorFor()
	}
	return e.startOperation(en, verb, lro, rt, d, fail)
}

// lroHeaders sets the polling headers of an operation.
func (c *call) lroHeaders(op *Operation, mode LROMode) {
	h := c.w.Header()
	switch mode {
	case AsyncOperation:
		h.Set("Azure-AsyncOperation", opURL(c.r.Host, op, false, c.apiVersion))
		if op.Verb == "delete" {
			h.Set("Location", opURL(c.r.Host, op, true, c.apiVersion))
		}
	case Location:
		h.Set("Location", opURL(c.r.Host, op, true, c.apiVersion))
	}
	setRetryAfter(h, op.Deadline.Sub(c.e.now()))
}

// mergePatch applies a JSON merge patch (RFC 7396) to a copy of doc.
func mergePatch(doc map[string]any, patch map[string]any) map[string]any {
	out := jsonmap.CopyMap(doc)
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			if dv, ok := out[k].(map[string]any); ok {
				out[k] = mergePatch(dv, pv)
			} else {
				out[k] = mergePatch(nil, pv)
			}
		default:
			out[k] = jsonmap.DeepCopy(v)
		}
	}
	return out
}

func (c *call) patch() {
	e, t, rt := c.e, c.t, c.t.rt
	if !rt.PatchTags {
		c.fail(methodNotAllowed(http.MethodPatch))
		return
	}
	if err := c.checkScope(t.id, rt, true); err != nil {
		c.fail(err)
		return
	}
	key := Key(t.idStr)
	en := e.st.get(key)
	if en == nil {
		c.fail(notFound(t.id))
		return
	}
	if op := e.opInFlight(en); op != nil {
		c.fail(anotherOperation(op, c.r.Host))
		return
	}
	if rt.ETag {
		if err := checkPrecondition(c.r.Header, en); err != nil {
			c.fail(err)
			return
		}
	}
	p, err := parseObject(c.body)
	if err != nil {
		c.fail(err)
		return
	}
	onlyTags := true
	for k := range p {
		switch k {
		case "tags", "id", "name", "type":
		default:
			onlyTags = false
		}
	}
	if !onlyTags {
		merged := mergePatch(en.res.Body, p)
		if tags, ok := p["tags"]; ok {
			merged["tags"] = jsonmap.DeepCopy(tags)
		}
		c.write(merged, true)
		return
	}
	if err := CheckTags(rt.Tags, p["tags"]); err != nil {
		c.fail(err)
		return
	}
	tx := e.newTx(c.r.Host)
	n := &entry{res: copyResource(en.res), seq: en.seq, parent: en.parent}
	if tags, ok := p["tags"]; ok {
		if tags == nil {
			tags = map[string]any{}
		}
		n.res.Body["tags"] = jsonmap.DeepCopy(tags)
	}
	if rt.ETag {
		n.res.Body["etag"] = e.newETag()
	}
	tx.put(key, n)
	tx.commit()
	c.changed = true
	c.writeResource(http.StatusOK, n)
}

func (c *call) delete() {
	e, t, rt := c.e, c.t, c.t.rt
	if err := c.checkScope(t.id, rt, false); err != nil {
		if err.Code == "ParentResourceNotFound" {
			c.w.WriteHeader(http.StatusNoContent)
			return
		}
		c.fail(err)
		return
	}
	key := Key(t.idStr)
	en := e.st.get(key)
	if en == nil {
		if t.id.Namespace == "" {
			c.fail(notFound(t.id))
			return
		}
		c.w.WriteHeader(http.StatusNoContent)
		return
	}
	lro := rt.Delete
	if op := e.opInFlight(en); op != nil {
		if op.Verb != "delete" {
			c.fail(anotherOperation(op, c.r.Host))
			return
		}
		c.lroHeaders(op, op.Mode)
		writeJSON(c.w, http.StatusAccepted, nil)
		return
	}
	if rt.ETag {
		if err := checkPrecondition(c.r.Header, en); err != nil {
			c.fail(err)
			return
		}
	}
	tx := e.newTx(c.r.Host)
	if rt.CheckDelete != nil {
		if err := rt.CheckDelete(tx, copyResource(en.res)); err != nil {
			tx.rollback()
			c.fail(err)
			return
		}
	}
	c.changed = true
	if lro.Mode == Sync {
		removed := tx.remove(key)
		e.afterDelete(tx, removed)
		tx.commit()
		status := lro.Status
		if status == 0 {
			status = http.StatusOK
		}
		writeJSON(c.w, status, nil)
		return
	}
	n := &entry{res: copyResource(en.res), seq: en.seq, parent: en.parent}
	n.res.Properties()["provisioningState"] = "Deleting"
	tx.put(key, n)
	op := c.startOp(n, "delete", lro)
	tx.commit()
	e.completeDue()
	status := lro.Status
	if status == 0 {
		status = http.StatusAccepted
	}
	c.lroHeaders(op, lro.Mode)
	writeJSON(c.w, status, nil)
}

func (c *call) list() {
	e, t, rt := c.e, c.t, c.t.rt
	// A resource group or a parent resource must exist; a subscription was checked before.
	if scope := ParseID(t.scope); scope.ResourceGroup != "" {
		if scope.Namespace != "" {
			if err := c.checkScope(scope, nil, false); err != nil {
				c.fail(err)
				return
			}
		}
		if e.st.get(Key(t.scope)) == nil {
			c.fail(notFound(scope))
			return
		}
	}
	es := e.st.inScope(t.scope, rt.Type)
	tx := c.readTx()
	out := make([]any, 0, len(es))
	for _, en := range es {
		out = append(out, e.render(tx, en))
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"value": out})
}

// genericList answers GET /subscriptions/{s}/resources and .../resourceGroups/{rg}/resources
// with the top-level resources, optionally filtered by $filter=resourceType eq '...'.
func (c *call) genericList() {
	e, t := c.e, c.t
	scope := ParseID(t.scope)
	if scope.ResourceGroup != "" && e.st.get(Key(t.scope)) == nil {
		c.fail(notFound(ID{Subscription: scope.Subscription, ResourceGroup: scope.ResourceGroup}))
		return
	}
	want := ""
	if f := c.r.URL.Query().Get("$filter"); f != "" {
		if _, v, ok := strings.Cut(f, "resourceType eq '"); ok {
			want, _, _ = strings.Cut(v, "'")
		}
	}
	out := []any{}
	for _, en := range c.topLevel(scope, want) {
		g := map[string]any{"id": en.res.ID, "name": ParseID(en.res.ID).Name, "type": en.res.Type}
		for _, k := range []string{"location", "tags", "kind", "sku", "identity", "managedBy", "plan", "zones", "extendedLocation"} {
			if v, ok := en.res.Body[k]; ok {
				g[k] = v
			}
		}
		out = append(out, g)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"value": out})
}

// topLevel returns the top-level resources in a subscription or resource group scope, of type
// want when it is not empty, in creation order.
func (c *call) topLevel(scope ID, want string) []*entry {
	candidates := c.e.st.all()
	if scope.ResourceGroup != "" {
		candidates = c.e.st.childrenOf(Key(c.t.scope), "") // a group's children are its top-level resources
	}
	prefix := Key(c.t.scope) + "/"
	var out []*entry
	for _, en := range candidates {
		id := ParseID(en.res.ID)
		if len(id.Types) != 1 || !strings.HasPrefix(Key(en.res.ID), prefix) || want != "" && !strings.EqualFold(want, en.res.Type) {
			continue
		}
		out = append(out, en)
	}
	return out
}

func (c *call) doAction() {
	e, t, rt := c.e, c.t, c.t.rt
	var act Action
	for name, a := range rt.Actions {
		if strings.EqualFold(name, t.action) {
			act = a
		}
	}
	if act == nil {
		c.fail(Errorf(http.StatusNotFound, "InvalidResourceType", "The resource type '%s' does not support the action '%s'.", rt.Type, t.action))
		return
	}
	if err := c.checkScope(t.id, rt, false); err != nil {
		c.fail(err)
		return
	}
	en := e.st.get(Key(t.idStr))
	if en == nil {
		c.fail(notFound(t.id))
		return
	}
	body, err := parseObject(c.body)
	if err != nil {
		c.fail(err)
		return
	}
	tx := e.newTx(c.r.Host)
	status, v, aerr := act(tx, copyResource(en.res), body)
	c.finish(tx, status, v, aerr)
}

// finish ends an action or a route: it rolls tx back and answers err, or commits tx and
// answers v with status (200 when 0).
func (c *call) finish(tx *txn, status int, v any, err *Error) {
	if err != nil {
		tx.rollback()
		c.fail(err)
		return
	}
	c.changed = tx.commit() || c.changed
	if status == 0 {
		status = http.StatusOK
	}
	writeJSON(c.w, status, v)
}

func (c *call) route() {
	e, t := c.e, c.t
	body, err := parseObject(c.body)
	if err != nil {
		c.fail(err)
		return
	}
	tx := c.readTx() // reads do not advance the sequence that seeds generated values
	if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead && !t.route.ReadOnly {
		tx = e.newTx(c.r.Host)
	}
	status, v, rerr := t.route.Handle(tx, &RouteRequest{Params: t.params, Query: c.r.URL.Query(), Body: body,
		Tenant: c.principal.TenantID, Principal: c.principal, Header: c.w.Header()})
	c.finish(tx, status, v, rerr)
}

func (c *call) operation() {
	e, t := c.e, c.t
	op := e.ops[strings.ToLower(t.opID)]
	if op == nil {
		op = e.ops[t.opID]
	}
	segs := splitPath(c.r.URL.Path)
	if op == nil || !strings.EqualFold(op.Subscription, segs[1]) {
		c.fail(Errorf(http.StatusNotFound, "OperationNotFound", "The operation '%s' could not be found.", t.opID))
		return
	}
	now := e.now()
	if !t.result {
		if op.Status == StatusInProgress {
			setRetryAfter(c.w.Header(), op.Deadline.Sub(now))
		}
		writeJSON(c.w, http.StatusOK, op.statusBody(now))
		return
	}
	switch op.Status {
	case StatusInProgress:
		c.w.Header().Set("Location", "https://"+c.r.Host+c.r.URL.RequestURI())
		setRetryAfter(c.w.Header(), op.Deadline.Sub(now))
		writeJSON(c.w, http.StatusAccepted, nil)
	case StatusSucceeded:
		if op.Verb == "delete" {
			writeJSON(c.w, op.DeleteStatus, nil)
			return
		}
		if en := e.st.get(Key(op.ResourceID)); en != nil {
			c.writeResource(http.StatusOK, en)
			return
		}
		if op.Result != nil {
			writeJSON(c.w, http.StatusOK, op.Result)
			return
		}
		writeJSON(c.w, http.StatusNoContent, nil)
	default:
		oerr := *op.Error
		if oerr.Status < 400 || oerr.Status >= 500 || oerr.Status == http.StatusRequestTimeout || oerr.Status == http.StatusTooManyRequests {
			oerr.Status = http.StatusBadRequest
		}
		c.fail(&oerr)
	}
}
