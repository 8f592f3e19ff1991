package config

import (
	"strings"
	"testing"
)

func TestClusterDefaultsToEmbedded(t *testing.T) {
	c := Default()
	if c.Cluster.Postgres() || !c.Cluster.Crawls() || !c.Cluster.Serves() {
		t.Fatalf("default cluster %+v: want embedded, crawling and serving", c.Cluster)
	}
}

func TestClusterRoles(t *testing.T) {
	t.Setenv("RM_PG_PASSWORD", "s3cret")
	c, err := Parse("c.yaml", []byte("cluster:\n  store: postgres://rm:${RM_PG_PASSWORD}@127.0.0.1:5432/rm\n  role: worker\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Cluster.Postgres() || !c.Cluster.Crawls() || c.Cluster.Serves() {
		t.Errorf("worker: %+v crawls %v serves %v", c.Cluster, c.Cluster.Crawls(), c.Cluster.Serves())
	}
	if got := c.Cluster.StoreRedacted(); strings.Contains(got, "s3cret") || !strings.Contains(got, "127.0.0.1:5432") {
		t.Errorf("redacted store %q", got)
	}
	c, err = Parse("c.yaml", []byte("cluster:\n  store: postgresql://rm@db/rm\n  role: api\n"))
	if err != nil || c.Cluster.Crawls() || !c.Cluster.Serves() {
		t.Errorf("api: %v %+v", err, c)
	}
}

func TestClusterErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown role", "cluster:\n  role: leader\n", `c.yaml:2: cluster.role: got "leader", expected all, worker or api`},
		{"worker without store", "cluster:\n  role: worker\n", "c.yaml:2: cluster.role: worker needs cluster.store"},
		{"api without store", "cluster:\n  role: api\n", "cluster.role: api needs cluster.store"},
		{"not postgres", "cluster:\n  store: mysql://u:pw@db/rm\n", `c.yaml:2: cluster.store: got "mysql://u:xxxxx@db/rm", expected a PostgreSQL URL`},
		{"no host", "cluster:\n  store: postgres:///rm\n", "cluster.store: got \"postgres:///rm\""},
		{"unparsable keeps the password out", "cluster:\n  store: \"postgres://u:p%zz@db/rm\"\n", `cluster.store: got "postgres://…"`},
	} {
		_, err := Parse("c.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: password in %v", tc.name, err)
		}
	}
}
