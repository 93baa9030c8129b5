package synth

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/assign-dev/assign/duck"
)

// chunkUsers is the number of users generated as one unit of work and
// written as one record batch per table. It fixes batch boundaries, so it
// must not depend on the thread count.
const chunkUsers = 4096

// msg is one record batch for a table sink, tagged with the part file it
// belongs to (always 0 unless the table is split).
type msg struct {
	part int
	rec  arrow.RecordBatch
}

// write generates every table into dir and returns the per-table row
// counts and paths.
func write(ctx context.Context, opt Options, dir string) ([]TableSummary, error) {
	asOf := int32(opt.AsOf.Unix() / secondsPerDay) // Validate made it midnight UTC
	cat := newCatalog(opt.Seed, opt.Scale, asOf)
	mem := memory.DefaultAllocator

	if opt.Split > 0 {
		for _, t := range SplitTables {
			if err := os.Mkdir(filepath.Join(dir, t), 0o777); err != nil {
				return nil, fmt.Errorf("create %s: %w", t, err)
			}
		}
	}
	var cdb *copyDB
	if opt.Format != FormatArrow {
		var err error
		if cdb, err = openCopyDB(ctx); err != nil {
			return nil, err
		}
		defer cdb.Close()
	}
	g, gctx := errgroup.WithContext(ctx)
	chans := map[string]chan msg{}
	summaries := make([]TableSummary, len(Tables))
	for i, t := range Tables {
		ch := make(chan msg, 2)
		chans[t] = ch
		parts := 0
		if opt.Split > 0 && slices.Contains(SplitTables, t) {
			parts = opt.Split
		}
		summaries[i] = TableSummary{Name: t, Files: max(1, parts), Path: t}
		if parts == 0 {
			summaries[i].Path = t + "." + opt.Format
		}
		s := &summaries[i]
		g.Go(func() error {
			rows, err := runSink(gctx, cdb, opt.Format, dir, t, parts, ch)
			s.Rows = rows
			if err != nil {
				return fmt.Errorf("write %s: %w", t, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		defer func() {
			for _, ch := range chans {
				close(ch)
			}
		}()
		snacks, tags := catalogRecords(mem, cat)
		if err := send(gctx, chans[TableSnacks], msg{rec: snacks}); err != nil {
			return err
		}
		if err := send(gctx, chans[TableSnackTags], msg{rec: tags}); err != nil {
			return err
		}
		demand, err := generateUsers(gctx, opt, cat, mem, chans)
		if err != nil {
			return err
		}
		return send(gctx, chans[TableStock], msg{rec: stockRecord(mem, opt.Seed, cat, demand, opt.StockFactor)})
	})
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("generation interrupted: %w", ctx.Err())
		}
		return nil, err
	}
	return summaries, nil
}

func send(ctx context.Context, ch chan<- msg, m msg) error {
	select {
	case ch <- m:
		return nil
	case <-ctx.Done():
		m.rec.Release()
		return ctx.Err()
	}
}

// job is one chunk of users; done receives its batches.
type job struct {
	lo, hi, part int
	done         chan map[string]arrow.RecordBatch
}

// userTables are the tables filled per user, in SPEC order.
var userTables = []string{TableUsers, TableSkips, TableUserNG, TableUserPrefs, TableDeliveries, TableRatings, TableRequests}

// generateUsers runs opt.Threads workers over the user chunks and sends the
// batches to the sinks in chunk order. It returns the summed demand
// estimate per snack.
func generateUsers(ctx context.Context, opt Options, cat *catalog, mem memory.Allocator, chans map[string]chan msg) ([]int64, error) {
	jobs := planChunks(opt.Scale.Users, opt.Split)
	threads := min(opt.Threads, len(jobs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	queue := make(chan *job, 2*threads) // in order; bounds the batches in memory
	work := make(chan *job)
	go func() {
		defer close(queue)
		defer close(work)
		for _, j := range jobs {
			select {
			case queue <- j:
			case <-ctx.Done():
				return
			}
			select {
			case work <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	workers := make([]*worker, threads)
	var wg sync.WaitGroup
	for i := range workers {
		w := newWorker(cat)
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ch chunk
			for j := range work {
				ch.reset()
				for u := j.lo; u < j.hi; u++ {
					w.user(opt.Seed, u, &ch)
				}
				j.done <- ch.records(mem, cat)
			}
		}()
	}

	done := 0
	var err error
	for j := range queue {
		var recs map[string]arrow.RecordBatch
		select {
		case recs = <-j.done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
		for _, t := range userTables {
			part := 0
			if opt.Split > 0 && slices.Contains(SplitTables, t) {
				part = j.part
			}
			if e := send(ctx, chans[t], msg{part: part, rec: recs[t]}); e != nil && err == nil {
				err = e
			}
		}
		if err != nil {
			break
		}
		done += j.hi - j.lo
		if opt.Progress != nil {
			opt.Progress(done, opt.Scale.Users)
		}
	}
	// Stop the feeder; workers finish their chunk (done is buffered) and
	// exit when work closes, so their scratch can be read after Wait.
	cancel()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	demand := make([]int64, len(cat.snacks))
	for _, w := range workers {
		for s, n := range w.demand {
			demand[s] += n
		}
	}
	return demand, nil
}

// planChunks cuts the users into chunks of at most chunkUsers, never
// straddling a part boundary (part p holds users [p*n/split, (p+1)*n/split)).
func planChunks(users, split int) []*job {
	parts := max(1, split)
	var jobs []*job
	for p := range parts {
		lo, hi := p*users/parts, (p+1)*users/parts
		for a := lo; a < hi; a += chunkUsers {
			jobs = append(jobs, &job{lo: a, hi: min(hi, a+chunkUsers), part: p, done: make(chan map[string]arrow.RecordBatch, 1)})
		}
	}
	return jobs
}

// partFile is the path of a table's file: <table>.<ext>, or
// <table>/part-NNNN.<ext> for part p of a split table.
func partFile(dir, table, format string, parts, p int) string {
	if parts == 0 {
		return filepath.Join(dir, table+"."+format)
	}
	return filepath.Join(dir, table, fmt.Sprintf("part-%04d.%s", p, format))
}

// copyDB is the one in-memory DuckDB database whose connections run the
// sinks' COPYs side by side. It runs with one thread: each COPY then runs
// on its caller's thread alone (so it writes the same bytes every time) and
// the sinks' COPYs run in parallel with each other and the generator.
type copyDB struct {
	db *sql.DB
}

func openCopyDB(ctx context.Context) (*copyDB, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("open DuckDB: %w", duck.Clean(err))
	}
	db := sql.OpenDB(connector)
	for _, set := range []string{
		"SET GLOBAL autoinstall_known_extensions = false",
		"SET GLOBAL threads = 1",
		"SET GLOBAL preserve_insertion_order = true",
		"SET GLOBAL memory_limit = '2GB'",
	} {
		if _, err := db.ExecContext(ctx, set); err != nil {
			db.Close()
			return nil, fmt.Errorf("configure DuckDB: %s: %w", set, duck.Clean(err))
		}
	}
	return &copyDB{db: db}, nil
}

func (c *copyDB) Close() error { return c.db.Close() }

// copyTo streams rr into path with DuckDB's COPY on a connection of its own.
// The view is released only after the COPY has read it to the end.
func (c *copyDB) copyTo(ctx context.Context, view string, rr *partReader, path, format string) error {
	var opts string
	switch format {
	case FormatParquet:
		opts = "FORMAT parquet"
	case FormatCSV:
		opts = "FORMAT csv, HEADER true"
	case FormatJSONL:
		opts = "FORMAT json"
	}
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return duck.Clean(err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return duck.Clean(err)
		}
		release, err := ar.RegisterView(rr, view)
		if err != nil {
			return duck.Clean(err)
		}
		defer release()
		ex := dc.(driver.ExecerContext)
		copySQL := fmt.Sprintf("COPY (SELECT * FROM %s) TO %s (%s)", duck.Ident(view), duck.Quote(path), opts)
		if _, err := ex.ExecContext(ctx, copySQL, nil); err != nil {
			return duck.Clean(err)
		}
		_, err = ex.ExecContext(ctx, "DROP VIEW IF EXISTS "+duck.Ident(view), nil)
		return duck.Clean(err)
	})
}

// runSink writes the batches arriving on in to the table's file (or part
// files) and returns the number of rows written. It reads in to the end
// unless it fails.
func runSink(ctx context.Context, cdb *copyDB, format, dir, table string, parts int, in <-chan msg) (int64, error) {
	src := &source{in: in, ctx: ctx}
	schema := Schemas[table]
	var rows int64
	for p := range max(1, parts) {
		path := partFile(dir, table, format, parts, p)
		rr := &partReader{src: src, schema: schema, part: p}
		rr.refs.Store(1)
		var err error
		if format == FormatArrow {
			err = writeArrowFile(path, schema, rr)
		} else {
			err = cdb.copyTo(ctx, "gen_"+table, rr, path, format)
		}
		rr.Release()
		rows += rr.rows
		if err == nil {
			err = rr.err
		}
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// writeArrowFile writes rr as an Arrow IPC file.
func writeArrowFile(path string, schema *arrow.Schema, rr *partReader) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		return err
	}
	for rr.Next() {
		if err := w.Write(rr.RecordBatch()); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// source is a sink's input channel with one batch of look-ahead, so
// consecutive part readers can hand over at part boundaries.
type source struct {
	in    <-chan msg
	ctx   context.Context
	ahead *msg
}

func (s *source) peek() (msg, bool, error) {
	if s.ahead != nil {
		return *s.ahead, true, nil
	}
	select {
	case m, ok := <-s.in:
		if !ok {
			return msg{}, false, nil
		}
		s.ahead = &m
		return m, true, nil
	case <-s.ctx.Done():
		return msg{}, false, s.ctx.Err()
	}
}

// partReader is an array.RecordReader over the batches of one part.
type partReader struct {
	refs   atomic.Int64
	src    *source
	schema *arrow.Schema
	part   int
	cur    arrow.RecordBatch
	rows   int64
	err    error
}

func (r *partReader) Retain() { r.refs.Add(1) }

func (r *partReader) Release() {
	if r.refs.Add(-1) == 0 && r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *partReader) Schema() *arrow.Schema { return r.schema }

func (r *partReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for {
		m, ok, err := r.src.peek()
		if err != nil {
			r.err = err
			return false
		}
		if !ok || m.part != r.part {
			return false
		}
		r.src.ahead = nil
		if m.rec.NumRows() == 0 {
			m.rec.Release()
			continue
		}
		r.cur = m.rec
		r.rows += m.rec.NumRows()
		return true
	}
}

func (r *partReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is the deprecated name of RecordBatch, still called by cdata.
func (r *partReader) Record() arrow.RecordBatch { return r.cur }

func (r *partReader) Err() error { return r.err }
