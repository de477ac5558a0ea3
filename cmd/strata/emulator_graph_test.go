package main

import (
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
)

func TestResourceGraphFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    resourcegraph.Options
		wantErr bool
	}{
		{nil, resourcegraph.Options{Lag: 3 * time.Second, Quota: 15}, false},
		{[]string{"--resource-graph-lag=300ms", "--resource-graph-quota=50"}, resourcegraph.Options{Lag: 300 * time.Millisecond, Quota: 50}, false},
		{[]string{"--resource-graph-lag=0"}, resourcegraph.Options{Lag: -1, Quota: 15}, false}, // 0: live
		{[]string{"--resource-graph-lag=-1s"}, resourcegraph.Options{}, true},
		{[]string{"--resource-graph-quota=0"}, resourcegraph.Options{}, true},
	}
	for _, tt := range tests {
		cmd := newEmulatorCommand()
		if err := cmd.ParseFlags(tt.args); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		lag, _ := cmd.Flags().GetDuration("resource-graph-lag")
		quota, _ := cmd.Flags().GetInt("resource-graph-quota")
		o := &emulatorOptions{graphLag: lag, graphQuota: quota}
		got, err := o.resourceGraph()
		if (err != nil) != tt.wantErr || got.Lag != tt.want.Lag || got.Quota != tt.want.Quota {
			t.Errorf("%v: %+v %v, want %+v (error %v)", tt.args, got, err, tt.want, tt.wantErr)
		}
	}
}
