package stevedoreclient_test

import (
	"context"
	"errors"
	"testing"

	stevedoreclient "github.com/stevedore-dev/stevedore/clients/go"
	"github.com/stevedore-dev/stevedore/clients/go/internal/fixture"
	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// TestManagement: list, measure, delete and collect the served store.
func TestManagement(t *testing.T) {
	ctx := context.Background()
	c := dial(t, startServer(t))
	for _, repo := range []string{"mgmt/a", "mgmt/b", "other/c"} {
		if _, err := c.Copy(ctx, fx.Ref(":"+fixture.TagImage), "store:"+repo+":v1", stevedoreclient.CopyOptions{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for r, err := range c.Repositories(ctx, "mgmt/") {
		if err != nil {
			t.Fatal(err)
		}
		if r.GetTagCount() != 1 || r.GetStoredBytes() == 0 {
			t.Errorf("%v", r)
		}
		names = append(names, r.GetName())
	}
	if len(names) != 2 || names[0] != "mgmt/a" || names[1] != "mgmt/b" {
		t.Errorf("Repositories(mgmt/) = %v", names)
	}
	u, err := c.StorageUsage(ctx, "")
	if err != nil || len(u.GetRepositories()) != 3 || u.GetSharedBytes() != u.GetTotalBytes() {
		t.Errorf("StorageUsage = %v, %v", u, err)
	}
	del, err := c.DeleteRepository(ctx, "mgmt/a")
	if err != nil || del.GetTagsDeleted() != 1 {
		t.Errorf("DeleteRepository = %v, %v", del, err)
	}
	if _, err := c.DeleteRepository(ctx, "mgmt/a"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("DeleteRepository twice: %v", err)
	}
	gc, err := c.RunGC(ctx, true)
	if err != nil || !gc.GetDryRun() || gc.GetRepositories() != 2 {
		t.Errorf("RunGC = %v, %v", gc, err)
	}
}
