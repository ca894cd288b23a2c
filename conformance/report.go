package conformance

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Status is a check's outcome.
type Status string

// The three outcomes of a check.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Row is one check's line in the report.
type Row struct {
	Check   string
	Section string
	Status  Status
	Why     string
}

// Report is the result of grading one target.
type Report struct {
	Target string
	Rows   []Row
}

func (r *Report) add(check, section string, st Status, format string, args ...any) {
	r.Rows = append(r.Rows, Row{Check: check, Section: section, Status: st, Why: fmt.Sprintf(format, args...)})
}

// Count returns how many rows have a status.
func (r *Report) Count(st Status) int {
	n := 0
	for _, row := range r.Rows {
		if row.Status == st {
			n++
		}
	}
	return n
}

// Failed lists the failed rows.
func (r *Report) Failed() []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Status == Fail {
			out = append(out, row)
		}
	}
	return out
}

// Row returns the row of a check, and whether there is one.
func (r *Report) Row(check string) (Row, bool) {
	for _, row := range r.Rows {
		if row.Check == check {
			return row, true
		}
	}
	return Row{}, false
}

// Summary is a one-line tally.
func (r *Report) Summary() string {
	return fmt.Sprintf("%s: %d PASS, %d FAIL, %d SKIP", r.Target, r.Count(Pass), r.Count(Fail), r.Count(Skip))
}

// WriteText prints the report as an aligned table.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CHECK\tSPEC\tRESULT\tWHY\n")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row.Check, row.Section, row.Status, oneLine(row.Why))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, r.Summary())
	return err
}

// WriteMarkdown prints the report as a Markdown section.
func (r *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "### %s\n\n%d PASS, %d FAIL, %d SKIP.\n\n| Check | Spec | Result | Why |\n|---|---|---|---|\n",
		r.Target, r.Count(Pass), r.Count(Fail), r.Count(Skip))
	for _, row := range r.Rows {
		why := strings.ReplaceAll(oneLine(row.Why), "|", `\|`)
		if _, err := fmt.Fprintf(w, "| %s | %s | %s | %s |\n", row.Check, row.Section, row.Status, why); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}
