package azure

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	"golang.org/x/sync/singleflight"
)

// DefaultListMaxAge is how long one list of a resource group tells which of its resources do
// not exist (Options.ListMaxAge).
const DefaultListMaxAge = time.Minute

// maxListPages bounds a resource group's list: a group with more resources than these pages
// hold is not listed, and its resources are read one by one.
const maxListPages = 5

// groupLists remembers, per resource group, the top-level resources one list of the group
// showed, so that a pass creating a cluster learns which of its resources do not exist yet with
// one request, rather than a GET of each before its PUT. Only absence is taken from a list: a
// resource the list shows is read before strata writes it, and its owner checked (claim), as
// is every child resource (a subnet, a container), which a group's list does not show. A
// resource strata writes counts as present from then on in the list it was missing from.
type groupLists struct {
	client *armresources.Client
	maxAge time.Duration
	log    *slog.Logger
	now    func() time.Time
	flight singleflight.Group

	mu    sync.Mutex
	lists map[string]*groupList // by lower-cased resource group ID
}

// groupList is what one list of a resource group showed.
type groupList struct {
	taken time.Time // when it was asked for
	// ids are the lower-cased IDs of the group's top-level resources; nil when the list
	// failed or was too long: nothing is known absent.
	ids map[string]bool
}

func newGroupLists(client *armresources.Client, maxAge time.Duration, log *slog.Logger) *groupLists {
	if maxAge <= 0 {
		maxAge = DefaultListMaxAge
	}
	return &groupLists{client: client, maxAge: maxAge, log: log, now: time.Now, lists: map[string]*groupList{}}
}

// absent reports whether the resource is known not to exist: a top-level resource missing from
// a list of its resource group taken less than maxAge ago (taken now when there is none), and
// not written by strata since. False means unknown: the caller reads the resource.
func (g *groupLists) absent(ctx context.Context, id *arm.ResourceID) bool {
	if g == nil || !topLevel(id) {
		return false
	}
	group := strings.ToLower(id.Parent.String())
	l := g.fresh(group)
	if l == nil {
		v, _, _ := g.flight.Do(group, func() (any, error) {
			if l := g.fresh(group); l != nil {
				return l, nil
			}
			return g.list(ctx, id.Parent.ResourceGroupName, group), nil
		})
		l = v.(*groupList)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return l.ids != nil && !l.ids[strings.ToLower(id.String())]
}

// topLevel reports whether a resource's parent is its resource group: the resources a group's
// list shows.
func topLevel(id *arm.ResourceID) bool {
	return id != nil && id.Parent != nil && id.ResourceGroupName != "" &&
		strings.EqualFold(id.Parent.ResourceType.String(), arm.ResourceGroupResourceType.String())
}

// fresh returns the group's list if it is younger than maxAge, else nil.
func (g *groupLists) fresh(group string) *groupList {
	g.mu.Lock()
	defer g.mu.Unlock()
	if l := g.lists[group]; l != nil && g.now().Sub(l.taken) < g.maxAge {
		return l
	}
	return nil
}

// list lists a resource group's resources and keeps what it showed; a failure is kept too (as
// nothing known), so that the group is not listed again before maxAge.
func (g *groupLists) list(ctx context.Context, rg, group string) *groupList {
	l := &groupList{taken: g.now()}
	ids, err := g.read(ctx, rg)
	if err != nil {
		g.log.DebugContext(ctx, "resource group not listed: reading its resources one by one", "resourceGroup", rg, "error", err)
	} else {
		l.ids = ids
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for old, ol := range g.lists {
		if g.now().Sub(ol.taken) >= g.maxAge {
			delete(g.lists, old)
		}
	}
	g.lists[group] = l
	return l
}

// read returns the lower-cased IDs of a resource group's top-level resources.
func (g *groupLists) read(ctx context.Context, rg string) (map[string]bool, error) {
	ids := map[string]bool{}
	pager := g.client.NewListByResourceGroupPager(rg, nil)
	for pages := 0; pager.More(); pages++ {
		if pages == maxListPages {
			return nil, fmt.Errorf("more than %d pages", maxListPages)
		}
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Value {
			if r != nil && r.ID != nil {
				ids[strings.ToLower(*r.ID)] = true
			}
		}
	}
	return ids, nil
}

// wrote records that strata wrote a resource: present in its group's list from now on.
func (g *groupLists) wrote(id string) {
	if g == nil {
		return
	}
	rid, err := arm.ParseResourceID(id)
	if err != nil || !topLevel(rid) {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if l := g.lists[strings.ToLower(rid.Parent.String())]; l != nil && l.ids != nil {
		l.ids[strings.ToLower(id)] = true
	}
}
