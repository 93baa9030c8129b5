package shard

import (
	"strings"
	"testing"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestResolve(t *testing.T) {
	cases := []struct {
		name   string
		flag   string
		count  int
		env    func(string) string
		want   Spec
		source string
		err    string
	}{
		{name: "not sharded", env: env()},
		{name: "flag", flag: "3/16", env: env(), want: Spec{3, 16}, source: "--shard"},
		{name: "flag with spaces", flag: " 0 / 1 ", env: env(), want: Spec{0, 1}, source: "--shard"},
		{name: "flag from env", env: env(EnvShard, "2/4"), want: Spec{2, 4}, source: "--shard (from $ASSIGN_SHARD)"},
		{name: "flag wins over engine", flag: "1/2", env: env(EnvK8sIndex, "5"), want: Spec{1, 2}, source: "--shard"},
		{name: "kubernetes with count flag", count: 8, env: env(EnvK8sIndex, "7"), want: Spec{7, 8}, source: "$JOB_COMPLETION_INDEX"},
		{name: "kubernetes with count env", flag: "auto", env: env(EnvK8sIndex, "0", EnvCount, "3"), want: Spec{0, 3}, source: "$JOB_COMPLETION_INDEX"},
		{name: "aws batch", flag: "auto", env: env(EnvBatchIndex, "4", EnvBatchSize, "10"), want: Spec{4, 10}, source: "$AWS_BATCH_JOB_ARRAY_INDEX"},
		{name: "cloud run", flag: "AUTO", env: env(EnvCloudRunIndex, "1", EnvCloudRunCount, "2"), want: Spec{1, 2}, source: "$CLOUD_RUN_TASK_INDEX"},
		{name: "assign pair", env: env(EnvShard, "auto", EnvIndex, "5", EnvCount, "6"), want: Spec{5, 6}, source: "$ASSIGN_SHARD_INDEX"},
		{name: "two engines agree", flag: "auto", env: env(EnvK8sIndex, "2", EnvIndex, "2", EnvCount, "3"), want: Spec{2, 3}, source: "$JOB_COMPLETION_INDEX"},

		{name: "bad form", flag: "3", env: env(), err: `--shard "3" is not I/N`},
		{name: "not numbers", flag: "a/b", env: env(), err: "whole numbers"},
		{name: "index too big", flag: "16/16", env: env(), err: "between 0 and 15"},
		{name: "zero count", flag: "0/0", env: env(), err: "between 1 and 9999"},
		{name: "flag and count disagree", flag: "1/4", count: 8, env: env(), err: "says 4 shards but --shard-count says 8"},
		{name: "auto without index", flag: "auto", env: env(), err: "no shard index in the environment"},
		{name: "kubernetes without count", flag: "auto", env: env(EnvK8sIndex, "3"), err: "nothing gives the count"},
		{name: "index past count", count: 4, env: env(EnvK8sIndex, "4"), err: "between 0 and 3"},
		{name: "bad index", flag: "auto", env: env(EnvBatchIndex, "x", EnvBatchSize, "3"), err: `$AWS_BATCH_JOB_ARRAY_INDEX="x"`},
		{name: "bad count env", flag: "auto", env: env(EnvK8sIndex, "1", EnvCount, "many"), err: `$ASSIGN_SHARD_COUNT="many"`},
		{name: "count flag disagrees with engine", count: 4, env: env(EnvCloudRunIndex, "1", EnvCloudRunCount, "5"), err: "--shard-count says 4 shards but $CLOUD_RUN_TASK_COUNT says 5"},
		{name: "two engines disagree", flag: "auto", env: env(EnvK8sIndex, "1", EnvBatchIndex, "2", EnvBatchSize, "3", EnvCount, "3"), err: "two different shards"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, source, err := Resolve(c.flag, c.count, c.env)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want || source != c.source {
				t.Fatalf("got %v from %q, want %v from %q", got, source, c.want, c.source)
			}
		})
	}
}
