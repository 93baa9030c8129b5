package shard

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxCount bounds the number of shards (a sanity limit: part folder names
// hold four digits).
const MaxCount = 9999

// Spec is one shard of a job: Index in 0..Count-1. The zero Spec (Count 0)
// means the job is not sharded.
type Spec struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Sharded reports whether s selects a shard.
func (s Spec) Sharded() bool { return s.Count > 0 }

func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// PartName is the folder name of the shard's part: part-0003-of-0016.
func (s Spec) PartName() string { return fmt.Sprintf("part-%04d-of-%04d", s.Index, s.Count) }

// Environment variables of the shard contract. The engines set their own
// index (and, except Kubernetes, count); assign's own pair serves engines
// that pass values through (Step Functions) and the local runner.
const (
	EnvShard         = "ASSIGN_SHARD"       // "I/N" or "auto": the --shard default
	EnvIndex         = "ASSIGN_SHARD_INDEX" // index, for engines without their own
	EnvCount         = "ASSIGN_SHARD_COUNT" // count, also with JOB_COMPLETION_INDEX
	EnvK8sIndex      = "JOB_COMPLETION_INDEX"
	EnvBatchIndex    = "AWS_BATCH_JOB_ARRAY_INDEX"
	EnvBatchSize     = "AWS_BATCH_JOB_ARRAY_SIZE"
	EnvCloudRunIndex = "CLOUD_RUN_TASK_INDEX"
	EnvCloudRunCount = "CLOUD_RUN_TASK_COUNT"
)

// Parse reads "I/N" (0 <= I < N).
func Parse(v string) (Spec, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(v), "/")
	if !ok {
		return Spec{}, fmt.Errorf("%q is not I/N (a shard index and count, e.g. 3/16), nor auto", v)
	}
	idx, err1 := strconv.Atoi(strings.TrimSpace(i))
	cnt, err2 := strconv.Atoi(strings.TrimSpace(n))
	if err1 != nil || err2 != nil {
		return Spec{}, fmt.Errorf("%q is not I/N with whole numbers (e.g. 3/16)", v)
	}
	return check(Spec{Index: idx, Count: cnt}, v)
}

func check(s Spec, what string) (Spec, error) {
	if s.Count < 1 || s.Count > MaxCount {
		return Spec{}, fmt.Errorf("%s: the shard count must be between 1 and %d", what, MaxCount)
	}
	if s.Index < 0 || s.Index >= s.Count {
		return Spec{}, fmt.Errorf("%s: the shard index must be between 0 and %d (the count minus one)", what, s.Count-1)
	}
	return s, nil
}

// Resolve works out the shard of this process. flag is the value of --shard
// (empty when not given; then $ASSIGN_SHARD), count the value of
// --shard-count (0 when not given; then $ASSIGN_SHARD_COUNT). The result is
// not sharded when neither says to shard.
//
//   - "I/N": that shard (--shard-count, if given, must equal N).
//   - "auto", or --shard-count alone: the index from the environment of the
//     engine running this process, and the count from --shard-count,
//     $ASSIGN_SHARD_COUNT or the engine's own count:
//     JOB_COMPLETION_INDEX (Kubernetes Indexed Job; count from the flag or
//     ASSIGN_SHARD_COUNT), AWS_BATCH_JOB_ARRAY_INDEX and _SIZE (AWS Batch
//     array job), CLOUD_RUN_TASK_INDEX and _COUNT (Cloud Run job), or
//     ASSIGN_SHARD_INDEX and ASSIGN_SHARD_COUNT (anything else). Variables
//     of two engines that disagree are an error; nothing is guessed.
//
// source says where the index came from, for the part manifest and logs.
func Resolve(flag string, count int, getenv func(string) string) (s Spec, source string, err error) {
	fromEnv := ""
	if flag == "" {
		flag = strings.TrimSpace(getenv(EnvShard))
		fromEnv = " (from $" + EnvShard + ")"
	}
	countSrc := "--shard-count"
	if count == 0 {
		if v := strings.TrimSpace(getenv(EnvCount)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return Spec{}, "", fmt.Errorf("$%s=%q: want a whole number of shards, 1 or more", EnvCount, v)
			}
			count, countSrc = n, "$"+EnvCount
		}
	} else if count < 0 {
		return Spec{}, "", fmt.Errorf("--shard-count %d: must be 1 or more", count)
	}
	switch {
	case flag == "" && count == 0:
		return Spec{}, "", nil
	case flag == "" || strings.EqualFold(flag, "auto"):
		return fromEngine(count, countSrc, getenv)
	}
	s, err = Parse(flag)
	if err != nil {
		return Spec{}, "", fmt.Errorf("--shard%s %v", fromEnv, err)
	}
	if count != 0 && count != s.Count {
		return Spec{}, "", fmt.Errorf("--shard%s %s says %d shards but %s says %d", fromEnv, flag, s.Count, countSrc, count)
	}
	return s, "--shard" + fromEnv, nil
}

// engineVars are the index/count pairs of the engines, in the order they are
// looked at.
var engineVars = []struct{ index, count, engine string }{
	{EnvK8sIndex, "", "Kubernetes Indexed Job"},
	{EnvBatchIndex, EnvBatchSize, "AWS Batch array job"},
	{EnvCloudRunIndex, EnvCloudRunCount, "Cloud Run job"},
	{EnvIndex, "", "assign"},
}

func fromEngine(count int, countSrc string, getenv func(string) string) (Spec, string, error) {
	var s Spec
	source := ""
	for _, ev := range engineVars {
		iv := strings.TrimSpace(getenv(ev.index))
		if iv == "" {
			continue
		}
		idx, err := strconv.Atoi(iv)
		if err != nil || idx < 0 {
			return Spec{}, "", fmt.Errorf("$%s=%q: want a shard index, a whole number from 0", ev.index, iv)
		}
		n := count
		nsrc := countSrc
		if ev.count != "" {
			if cv := strings.TrimSpace(getenv(ev.count)); cv != "" {
				c, err := strconv.Atoi(cv)
				if err != nil || c < 1 {
					return Spec{}, "", fmt.Errorf("$%s=%q: want a whole number of shards, 1 or more", ev.count, cv)
				}
				if n != 0 && n != c {
					return Spec{}, "", fmt.Errorf("%s says %d shards but $%s says %d", countSrc, n, ev.count, c)
				}
				n, nsrc = c, "$"+ev.count
			}
		}
		if n == 0 {
			return Spec{}, "", fmt.Errorf("$%s=%d gives the shard index (%s) but nothing gives the count: add --shard-count N or set $%s", ev.index, idx, ev.engine, EnvCount)
		}
		got, err := check(Spec{Index: idx, Count: n}, fmt.Sprintf("$%s=%d with %d shards (%s)", ev.index, idx, n, nsrc))
		if err != nil {
			return Spec{}, "", err
		}
		if source != "" && got != s {
			return Spec{}, "", fmt.Errorf("the environment names two different shards: %s (%s) and %s ($%s); unset one", s, source, got, ev.index)
		}
		if source == "" {
			s, source = got, "$"+ev.index
		}
	}
	if source == "" {
		var names []string
		for _, ev := range engineVars {
			names = append(names, ev.index)
		}
		return Spec{}, "", fmt.Errorf("--shard auto: no shard index in the environment (looked for $%s); give --shard I/N instead", strings.Join(names, ", $"))
	}
	return s, source, nil
}
