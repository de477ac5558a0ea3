package arm

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Operation states.
const (
	StatusInProgress = "InProgress"
	StatusSucceeded  = "Succeeded"
	StatusFailed     = "Failed"
	StatusCanceled   = "Canceled"
)

// Operation is one long-running write, as its operation URL reports it.
type Operation struct {
	ID           string     `json:"id"`
	Subscription string     `json:"subscription"`
	Namespace    string     `json:"namespace"`
	Location     string     `json:"location"`
	ResourceID   string     `json:"resourceId"`
	ResourceType string     `json:"resourceType"`
	Verb         string     `json:"verb"` // create, update, delete
	Mode         LROMode    `json:"mode"`
	Status       string     `json:"status"`
	Start        time.Time  `json:"startTime"`
	Deadline     time.Time  `json:"deadline"`
	End          *time.Time `json:"endTime,omitempty"`
	// Fail is the error the operation ends with (an injected failure), nil to succeed.
	Fail  *Error `json:"fail,omitempty"`
	Error *Error `json:"error,omitempty"`
	// DeleteStatus is what the Location URL answers once a delete is done: 200 or 204.
	DeleteStatus int `json:"deleteStatus,omitempty"`
	// Result is the resource as it was when the operation ended (PUT in Location mode).
	Result map[string]any `json:"result,omitempty"`
}

func (e *Engine) newOpID() string {
	e.reqSeq++
	return uuidFrom(hashOf(e.seed, "op", e.reqSeq), hashOf(e.seed, "op2", e.reqSeq))
}

func (e *Engine) newETag() string {
	e.etagSeq++
	return `W/"` + uuidFrom(hashOf(e.seed, "etag", e.etagSeq), hashOf(e.seed, "etag2", e.etagSeq)) + `"`
}

// uuidFrom formats 128 bits as a version-4 UUID.
func uuidFrom(a, b uint64) string {
	a = a&^0xf000 | 0x4000
	b = b&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// opPath returns the path of an operation's status (async) or result (Location) URL.
func (op *Operation) path(results bool) string {
	kind := "operations"
	if results {
		kind = "operationresults"
	}
	return fmt.Sprintf("/subscriptions/%s/providers/%s/locations/%s/%s/%s", op.Subscription, op.Namespace, op.Location, kind, op.ID)
}

func opURL(host string, op *Operation, results bool, apiVersion string) string {
	return "https://" + host + op.path(results) + "?api-version=" + apiVersion
}

// startOperation records an operation on a resource and returns it; it takes
// duration d and ends with fail, or succeeds when fail is nil.
func (e *Engine) startOperation(en *entry, verb string, lro LRO, rt *ResourceType, d time.Duration, fail *Error) *Operation {
	id := ParseID(en.res.ID)
	ns := id.Namespace
	if ns == "" {
		ns = "Microsoft.Resources"
	}
	now := e.now().UTC()
	op := &Operation{
		ID: e.newOpID(), Subscription: id.Subscription, Namespace: ns, Location: e.locationOf(en),
		ResourceID: en.res.ID, ResourceType: rt.Type, Verb: verb, Mode: lro.Mode, Status: StatusInProgress,
		Start: now, Deadline: now.Add(d), Fail: fail, DeleteStatus: http.StatusOK,
	}
	if verb == "delete" && lro.Mode == Location && lro.Status == http.StatusNoContent {
		op.DeleteStatus = http.StatusNoContent
	}
	e.ops[op.ID] = op
	en.op = op.ID
	return op
}

// locationOf returns the region of a resource, of its nearest located ancestor, or the first
// offered region.
func (e *Engine) locationOf(en *entry) string {
	for cur := en; cur != nil; cur = e.st.get(cur.parent) {
		if l, ok := cur.res.Body["location"].(string); ok && l != "" {
			return normLocation(l)
		}
	}
	if len(e.locations) > 0 {
		return e.locations[0].Name
	}
	return "global"
}

// completeDue ends every operation whose time has come, in deadline order, and reports
// whether anything changed.
func (e *Engine) completeDue() bool {
	now := e.now()
	var due []*Operation
	for _, op := range e.ops {
		if op.Status == StatusInProgress && !op.Deadline.After(now) {
			due = append(due, op)
		}
	}
	slices.SortFunc(due, func(a, b *Operation) int {
		if c := a.Deadline.Compare(b.Deadline); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for _, op := range due {
		if op.Status == StatusInProgress {
			e.finish(op)
		}
	}
	e.pruneOps(now)
	return len(due) > 0
}

// finish ends one operation and applies its outcome to the resource.
func (e *Engine) finish(op *Operation) {
	key := Key(op.ResourceID)
	en := e.st.get(key)
	end := op.Deadline.UTC()
	op.End = &end
	if en == nil || en.op != op.ID {
		// The resource went away meanwhile (its resource group was deleted).
		if op.Verb == "delete" {
			op.Status = StatusSucceeded
		} else {
			op.Status = StatusCanceled
			op.Error = &Error{Code: "Canceled", Message: "The Operation was canceled: the resource was deleted."}
		}
		return
	}
	tx := e.newTx("")
	if op.Fail != nil {
		op.Status, op.Error = StatusFailed, op.Fail
		if op.Verb == "create" && op.Mode == Location {
			tx.remove(key)
		} else {
			n := &entry{res: copyResource(en.res), seq: en.seq, parent: en.parent}
			n.res.Properties()["provisioningState"] = StatusFailed
			tx.put(key, n)
		}
		tx.commit()
		return
	}
	op.Status = StatusSucceeded
	if op.Verb == "delete" {
		removed := tx.remove(key)
		e.afterDelete(tx, removed)
		tx.commit()
		return
	}
	n := &entry{res: copyResource(en.res), seq: en.seq, parent: en.parent}
	n.res.Properties()["provisioningState"] = StatusSucceeded
	tx.put(key, n)
	tx.commit()
	if op.Mode == Location {
		op.Result = deepCopyMap(e.render(tx, n))
	}
}

// afterDelete runs the AfterDelete hooks of removed resources, deepest first.
func (e *Engine) afterDelete(tx *txn, removed []*Resource) {
	for _, r := range removed {
		if rt := e.types[strings.ToLower(r.Type)]; rt != nil && rt.AfterDelete != nil {
			rt.AfterDelete(tx, copyResource(r))
		}
	}
}

// endRemoved ends the operation of a resource removed by something else.
func (e *Engine) endRemoved(opID string) {
	op := e.ops[opID]
	if op == nil || op.Status != StatusInProgress {
		return
	}
	now := e.now().UTC()
	op.End = &now
	if op.Verb == "delete" {
		op.Status = StatusSucceeded
	} else {
		op.Status = StatusCanceled
		op.Error = &Error{Code: "Canceled", Message: "The Operation was canceled: the resource was deleted."}
	}
}

// pruneOps forgets operations that ended more than a day ago.
func (e *Engine) pruneOps(now time.Time) {
	for id, op := range e.ops {
		if op.End != nil && now.Sub(*op.End) > 24*time.Hour {
			delete(e.ops, id)
		}
	}
}

// nextDeadline returns the earliest deadline of the operations in progress.
func (e *Engine) nextDeadline() (time.Time, bool) {
	var t time.Time
	found := false
	for _, op := range e.ops {
		if op.Status == StatusInProgress && (!found || op.Deadline.Before(t)) {
			t, found = op.Deadline, true
		}
	}
	return t, found
}

// setRetryAfter tells the client when to poll again: a quarter of the time left, between 20 ms
// and 15 s, as Retry-After-Ms and (rounded up) Retry-After.
func setRetryAfter(h http.Header, left time.Duration) {
	d := min(max(left/4, 20*time.Millisecond), 15*time.Second)
	h.Set("Retry-After-Ms", strconv.FormatInt(d.Milliseconds(), 10))
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
}

// opStatusBody is the answer of an Azure-AsyncOperation URL.
func (op *Operation) statusBody(now time.Time) map[string]any {
	b := map[string]any{
		"id":        op.path(false),
		"name":      op.ID,
		"status":    op.Status,
		"startTime": op.Start.Format(time.RFC3339Nano),
	}
	pct := 100.0
	if op.Status == StatusInProgress {
		total := op.Deadline.Sub(op.Start)
		if total > 0 {
			pct = math.Floor(100 * float64(now.Sub(op.Start)) / float64(total))
			pct = min(max(pct, 0), 99)
		}
	}
	b["percentComplete"] = pct
	if op.End != nil {
		b["endTime"] = op.End.Format(time.RFC3339Nano)
	}
	if op.Error != nil {
		b["error"] = detailOf(op.Error)
	}
	return b
}
