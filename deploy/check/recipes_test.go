package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	mergecmd "github.com/assign-dev/assign/cmd/assign/merge"
	"github.com/assign-dev/assign/cmd/assign/plancmd"
	"github.com/assign-dev/assign/cmd/assign/preassign"
	"github.com/assign-dev/assign/cmd/assign/run"
	"github.com/assign-dev/assign/shard"
)

// accepts parses args as assign's command line would (the first word is the
// verb) under the environment env, and returns the shard the command
// resolved (the zero Spec for merge). It fails the test when assign would
// refuse the command.
func accepts(t *testing.T, where string, args []string, env map[string]string) shard.Spec {
	t.Helper()
	for _, k := range []string{shard.EnvShard, shard.EnvIndex, shard.EnvCount, shard.EnvK8sIndex, shard.EnvBatchIndex,
		shard.EnvBatchSize, shard.EnvCloudRunIndex, shard.EnvCloudRunCount} {
		t.Setenv(k, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	ios, _, _, _ := cmdutil.Test()
	f := cmdutil.New(ios)
	var got shard.Spec
	capture := func(o *plancmd.Options) error { got = o.Request.Shard; return nil }
	var c interface {
		SetArgs([]string)
		SetOut(io.Writer)
		SetErr(io.Writer)
		Execute() error
	}
	switch args[0] {
	case "preassign":
		c = preassign.NewCmdPreassign(f, capture)
	case "run":
		c = run.NewCmdRun(f, capture)
	case "merge":
		c = mergecmd.NewCmdMerge(f, func(*mergecmd.Options) error { return nil })
	default:
		t.Fatalf("%s: %q is not a verb the recipes use", where, args[0])
	}
	c.SetArgs(args[1:])
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	if err := c.Execute(); err != nil {
		t.Fatalf("%s: assign refuses %q: %v", where, strings.Join(args, " "), err)
	}
	return got
}

var kubeVar = regexp.MustCompile(`\$\(([A-Z_]+)\)`)

// expand replaces Kubernetes' $(VAR) references from env, failing on an
// undefined one (Kubernetes would pass it on literally).
func expand(t *testing.T, where string, args []string, env map[string]string) []string {
	t.Helper()
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = kubeVar.ReplaceAllStringFunc(a, func(m string) string {
			v, ok := env[m[2:len(m)-1]]
			if !ok {
				t.Errorf("%s: %s is not defined in the container's env", where, m)
			}
			return v
		})
	}
	return out
}

func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

type kubeDoc struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

// kubeJobs decodes every document of a manifest strictly into its API type
// and returns the Jobs by name.
func kubeJobs(t *testing.T, data []byte) (map[string]*batchv1.Job, []string) {
	t.Helper()
	jobs := map[string]*batchv1.Job{}
	var order []string
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		var d kubeDoc
		if err := yaml.Unmarshal(doc, &d); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var obj any
		switch d.Kind {
		case "Job":
			j := &batchv1.Job{}
			obj = j
			jobs[d.Metadata.Name] = j
			order = append(order, d.Metadata.Name)
		case "ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "Role":
			obj = &rbacv1.Role{}
		case "RoleBinding":
			obj = &rbacv1.RoleBinding{}
		default:
			t.Fatalf("document %d: unexpected kind %q", i, d.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("document %d (%s %s) does not decode strictly: %v", i, d.Kind, d.Metadata.Name, err)
		}
	}
	return jobs, order
}

func envOf(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

// checkKubernetes checks a rendered manifest: the shard Jobs are Indexed
// Jobs retried per index whose command assign accepts and which resolves
// every index to its shard, each merge reads the parts its shards wrote,
// and every wait names a Job of the same file.
func checkKubernetes(t *testing.T, name string, data []byte, wantShards int) {
	t.Helper()
	jobs, order := kubeJobs(t, data)
	written := map[string]bool{}
	quotas := map[string]bool{}
	merges := 0
	for _, jn := range order {
		j := jobs[jn]
		spec := j.Spec.Template.Spec
		where := name + ": job " + jn
		if spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("%s: restartPolicy %q, want Never", where, spec.RestartPolicy)
		}
		for _, ic := range spec.InitContainers {
			for _, a := range ic.Args {
				if m := regexp.MustCompile(`job=(\S+)`).FindStringSubmatch(a); m != nil && jobs[m[1]] == nil {
					t.Errorf("%s: waits for job %s, which the file does not define", where, m[1])
				}
			}
			if len(ic.Args) > 0 && spec.ServiceAccountName == "" {
				t.Errorf("%s: waits for a Job without a service account allowed to read Jobs", where)
			}
		}
		if len(spec.Containers) != 1 || spec.Containers[0].Name != "assign" {
			t.Fatalf("%s: want one container named assign", where)
		}
		c := spec.Containers[0]
		env := envOf(c)
		args := expand(t, where, c.Args, env)
		if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion {
			n := int(*j.Spec.Completions)
			if n != wantShards || *j.Spec.Parallelism > *j.Spec.Completions {
				t.Errorf("%s: %d completions, parallelism %d; want %d shards", where, n, *j.Spec.Parallelism, wantShards)
			}
			if j.Spec.BackoffLimitPerIndex == nil || *j.Spec.BackoffLimitPerIndex < 1 {
				t.Errorf("%s: no backoffLimitPerIndex: a lost shard would not run again", where)
			}
			failIndex := false
			if pfp := j.Spec.PodFailurePolicy; pfp != nil {
				for _, r := range pfp.Rules {
					if r.Action == batchv1.PodFailurePolicyActionFailIndex && r.OnExitCodes != nil && fmt.Sprint(r.OnExitCodes.Values) == "[2]" {
						failIndex = true
					}
				}
			}
			if !failIndex {
				t.Errorf("%s: exit status 2 (a usage error) should fail the index without retries", where)
			}
			for i := 0; i < n; i++ {
				got := accepts(t, where, args, map[string]string{shard.EnvK8sIndex: strconv.Itoa(i)})
				if got != (shard.Spec{Index: i, Count: n}) {
					t.Fatalf("%s: index %d resolves to shard %v", where, i, got)
				}
			}
			written[flagValue(args, "--out")] = true
			if q := flagValue(args, "--quota-from"); q != "" && !quotas[q] {
				t.Errorf("%s: --quota-from %s, which no earlier merge writes", where, q)
			}
			continue
		}
		accepts(t, where, args, nil)
		merges++
		if args[0] != "merge" || !written[args[1]] {
			t.Errorf("%s: merges %q, which no shard Job before it writes", where, strings.Join(args, " "))
		}
		if out := flagValue(args, "--out"); out != "" {
			quotas[out] = true
		}
	}
	if merges == 0 || len(written) == 0 {
		t.Errorf("%s: %d shard steps and %d merges", name, len(written), merges)
	}
}

func TestKubernetesRecipes(t *testing.T) {
	for _, f := range []string{"assign-shards.yaml", "assign-shards-run.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "kubernetes", f))
		if err != nil {
			t.Fatal(err)
		}
		checkKubernetes(t, f, data, 16)
	}
}

// TestKubernetesScript renders the recipes for another date and shard count
// and checks what kubectl would receive.
func TestKubernetesScript(t *testing.T) {
	for _, mode := range []string{"preassign", "run"} {
		cmd := exec.Command("sh", filepath.Join("..", "kubernetes", "assign-shards.sh"), mode, "2026-04-06", "14", "5", "snap-x", "3")
		cmd.Env = append(os.Environ(), "KUBECTL=cat")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("assign-shards.sh %s: %v", mode, err)
		}
		if bytes.Contains(out, []byte("20260302")) || bytes.Contains(out, []byte("2026-03-02")) {
			t.Errorf("assign-shards.sh %s left the recipe's own date in", mode)
		}
		checkKubernetes(t, "assign-shards.sh "+mode, out, 5)
	}
}

type batchJobDef struct {
	JobDefinitionName string            `json:"jobDefinitionName"`
	Parameters        map[string]string `json:"parameters"`
	ContainerProps    struct {
		Command []string `json:"command"`
	} `json:"containerProperties"`
	RetryStrategy struct {
		Attempts       int `json:"attempts"`
		EvaluateOnExit []struct {
			OnExitCode string `json:"onExitCode"`
			OnReason   string `json:"onReason"`
			Action     string `json:"action"`
		} `json:"evaluateOnExit"`
	} `json:"retryStrategy"`
}

// TestAWSBatchRecipes: every job definition's command, with its parameters'
// defaults, is one assign accepts; a child of an array job resolves its
// shard from AWS_BATCH_JOB_ARRAY_INDEX and _SIZE; retries are per child and
// exit status 2 is not retried; submit.sh uses every definition.
func TestAWSBatchRecipes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "aws-batch", "job-definition-*.json"))
	if len(files) != 3 {
		t.Fatalf("%d job definitions, want 3", len(files))
	}
	script, err := os.ReadFile(filepath.Join("..", "aws-batch", "submit.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d batchJobDef
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		args := make([]string, len(d.ContainerProps.Command))
		for i, a := range d.ContainerProps.Command {
			if strings.HasPrefix(a, "Ref::") {
				v, ok := d.Parameters[a[5:]]
				if !ok {
					t.Errorf("%s: %s has no default in parameters", f, a)
				}
				a = v
			}
			args[i] = a
		}
		if d.RetryStrategy.Attempts < 2 || len(d.RetryStrategy.EvaluateOnExit) == 0 ||
			d.RetryStrategy.EvaluateOnExit[0].OnExitCode != "2" || d.RetryStrategy.EvaluateOnExit[0].Action != "EXIT" {
			t.Errorf("%s: retryStrategy %+v: want several attempts, exit 2 not retried", f, d.RetryStrategy)
		}
		if !bytes.Contains(script, []byte("--job-definition "+d.JobDefinitionName)) {
			t.Errorf("submit.sh does not submit %s", d.JobDefinitionName)
		}
		if args[0] == "merge" {
			accepts(t, f, args, nil)
			continue
		}
		for _, i := range []int{0, 7, 15} {
			got := accepts(t, f, args, map[string]string{shard.EnvBatchIndex: strconv.Itoa(i), shard.EnvBatchSize: "16"})
			if got != (shard.Spec{Index: i, Count: 16}) {
				t.Fatalf("%s: child %d resolves to shard %v", f, i, got)
			}
		}
	}
}

// asl is the part of a state machine the test reads.
type aslMachine struct {
	StartAt string                     `json:"StartAt"`
	States  map[string]json.RawMessage `json:"States"`
}

type aslState struct {
	Type          string                  `json:"Type"`
	Next          string                  `json:"Next"`
	End           bool                    `json:"End"`
	Default       string                  `json:"Default"`
	Choices       []struct{ Next string } `json:"Choices"`
	ItemProcessor *struct {
		ProcessorConfig struct{ Mode, ExecutionType string } `json:"ProcessorConfig"`
		aslMachine
	} `json:"ItemProcessor"`
	ItemSelector map[string]any `json:"ItemSelector"`
	Parameters   struct {
		Overrides struct {
			ContainerOverrides []struct {
				Name        string `json:"Name"`
				Command     string `json:"Command.$"`
				Environment []struct {
					Name  string `json:"Name"`
					Value string `json:"Value.$"`
				} `json:"Environment"`
			} `json:"ContainerOverrides"`
		} `json:"Overrides"`
	} `json:"Parameters"`
	Retry []struct {
		ErrorEquals []string `json:"ErrorEquals"`
		MaxAttempts int      `json:"MaxAttempts"`
	} `json:"Retry"`
}

// walk checks that every transition of m names a state of m, and calls fn
// on every state (and the states of every Map's item processor).
func walk(t *testing.T, where string, m aslMachine, fn func(name string, s *aslState)) {
	t.Helper()
	if _, ok := m.States[m.StartAt]; !ok {
		t.Errorf("%s: StartAt %q is no state", where, m.StartAt)
	}
	for name, raw := range m.States {
		var s aslState
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: state %s: %v", where, name, err)
		}
		targets := []string{s.Next, s.Default}
		for _, c := range s.Choices {
			targets = append(targets, c.Next)
		}
		for _, n := range targets {
			if _, ok := m.States[n]; n != "" && !ok {
				t.Errorf("%s: state %s goes to %q, which is no state", where, name, n)
			}
		}
		if s.Type != "Choice" && s.Type != "Succeed" && s.Type != "Fail" && s.Next == "" && !s.End {
			t.Errorf("%s: state %s has neither Next nor End", where, name)
		}
		fn(name, &s)
		if s.ItemProcessor != nil {
			walk(t, where+"/"+name, s.ItemProcessor.aslMachine, fn)
		}
	}
}

// intrinsic evaluates the few intrinsic functions the recipe uses
// (States.Array, States.Format, States.MathAdd, $.path and 'text') against
// the iteration input in.
func intrinsic(t *testing.T, expr string, in map[string]any) any {
	t.Helper()
	p := &parser{s: expr, in: in, t: t}
	v := p.value()
	if p.i != len(p.s) {
		t.Fatalf("intrinsic %q: unexpected %q", expr, p.s[p.i:])
	}
	return v
}

type parser struct {
	s  string
	i  int
	in map[string]any
	t  *testing.T
}

func (p *parser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *parser) value() any {
	p.space()
	switch {
	case strings.HasPrefix(p.s[p.i:], "'"):
		j := strings.IndexByte(p.s[p.i+1:], '\'')
		v := p.s[p.i+1 : p.i+1+j]
		p.i += j + 2
		return v
	case strings.HasPrefix(p.s[p.i:], "$."):
		j := p.i + 2
		for j < len(p.s) && (p.s[j] == '_' || p.s[j] >= 'a' && p.s[j] <= 'z') {
			j++
		}
		key := p.s[p.i+2 : j]
		p.i = j
		v, ok := p.in[key]
		if !ok {
			p.t.Fatalf("intrinsic %q: $.%s is not in the iteration input", p.s, key)
		}
		return v
	case p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '-':
		j := p.i + 1
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(p.s[p.i:j])
		p.i = j
		return float64(n)
	case strings.HasPrefix(p.s[p.i:], "States."):
		j := strings.IndexByte(p.s[p.i:], '(')
		fn := p.s[p.i : p.i+j]
		p.i += j + 1
		var args []any
		for {
			p.space()
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			args = append(args, p.value())
			p.space()
			if p.s[p.i] == ',' {
				p.i++
			}
		}
		switch fn {
		case "States.Array":
			return args
		case "States.Format":
			out := args[0].(string)
			for _, a := range args[1:] {
				out = strings.Replace(out, "{}", fmt.Sprint(a), 1)
			}
			return out
		case "States.MathAdd":
			return args[0].(float64) + args[1].(float64)
		}
		p.t.Fatalf("intrinsic %q: %s is not evaluated by this test", p.s, fn)
	}
	p.t.Fatalf("intrinsic %q: cannot read %q", p.s, p.s[p.i:])
	return nil
}

// TestStepFunctionsRecipe: the state machine's transitions are whole, the
// shards run as a Distributed Map whose every iteration is retried on its
// own, and every ECS command, evaluated for an iteration, is one assign
// accepts and resolves to that iteration's shard.
func TestStepFunctionsRecipe(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "stepfunctions", "assign-shards.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m aslMachine
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	td, err := os.ReadFile(filepath.Join("..", "stepfunctions", "ecs-task-definition.json"))
	if err != nil {
		t.Fatal(err)
	}
	var taskDef struct {
		ContainerDefinitions []struct {
			Name       string   `json:"name"`
			EntryPoint []string `json:"entryPoint"`
		} `json:"containerDefinitions"`
	}
	if err := json.Unmarshal(td, &taskDef); err != nil || len(taskDef.ContainerDefinitions) != 1 {
		t.Fatalf("ecs-task-definition.json: %v", err)
	}
	container := taskDef.ContainerDefinitions[0].Name
	iteration := map[string]any{"index": float64(5), "shards": float64(16), "date": "2026-03-02", "days": float64(28),
		"snapshot": "snap-20260301-020000", "attempt": float64(1), "backoff": float64(60), "mode": "run", "parallelism": float64(16)}
	maps, shardTasks := 0, 0
	walk(t, "assign-shards.asl.json", m, func(name string, s *aslState) {
		if s.ItemProcessor != nil {
			maps++
			if s.ItemProcessor.ProcessorConfig.Mode != "DISTRIBUTED" {
				t.Errorf("map %s: mode %q, want DISTRIBUTED", name, s.ItemProcessor.ProcessorConfig.Mode)
			}
			for k := range iteration {
				if _, ok := s.ItemSelector[k+".$"]; !ok && k != "attempt" && k != "mode" && k != "parallelism" {
					t.Errorf("map %s: the iteration input lacks %s", name, k)
				}
			}
		}
		for _, co := range s.Parameters.Overrides.ContainerOverrides {
			if co.Name != container {
				t.Errorf("state %s overrides container %q; the task definition's is %q", name, co.Name, container)
			}
			args, ok := intrinsic(t, co.Command, iteration).([]any)
			if !ok {
				t.Fatalf("state %s: Command.$ is no array", name)
			}
			words := make([]string, len(args))
			for i, a := range args {
				words[i] = fmt.Sprint(a)
			}
			env := map[string]string{}
			for _, e := range co.Environment {
				env[e.Name] = fmt.Sprint(intrinsic(t, e.Value, iteration))
			}
			got := accepts(t, "state "+name, words, env)
			if words[0] != "merge" {
				shardTasks++
				if got != (shard.Spec{Index: 5, Count: 16}) {
					t.Errorf("state %s: iteration 5 of 16 resolves to shard %v", name, got)
				}
				retried := false
				for _, r := range s.Retry {
					if r.MaxAttempts > 0 && strings.Contains(strings.Join(r.ErrorEquals, " "), "States.TaskFailed") {
						retried = true
					}
				}
				if !retried {
					t.Errorf("state %s: a shard's task is not retried", name)
				}
			}
		}
	})
	if maps != 2 || shardTasks != 2 {
		t.Errorf("%d Distributed Maps and %d shard tasks, want 2 and 2 (preassign, run)", maps, shardTasks)
	}
}
