package resourcegraph

import (
	"fmt"
	"strconv"
	"strings"
)

// Codes of the second detail of a refused query.
const (
	codeParser      = "ParserFailure"
	codeTable       = "UnknownTable"
	codeColumn      = "UnknownColumn"
	codeUnsupported = "UnsupportedOperator"
)

// queryError is a query the emulator cannot run: a syntax error, an unknown table or column,
// or KQL outside the supported subset.
type queryError struct {
	code, msg string
}

func (e *queryError) Error() string { return e.code + ": " + e.msg }

func errorf(code, format string, args ...any) *queryError {
	return &queryError{code: code, msg: fmt.Sprintf(format, args...)}
}

// Kinds of pipeline stage.
const (
	stWhere = iota
	stProject
	stOrder
	stLimit
)

// stage is one tabular operator of the pipeline.
type stage struct {
	kind int
	cond expr       // where
	cols []column   // project
	keys []orderKey // order by
	n    int        // limit
}

// orderKey is one key of an order by.
type orderKey struct {
	col  column
	desc bool
}

// query is a parsed query: the Resources table piped through stages.
type query struct {
	stages []stage
}

// parser reads a query's tokens; avail holds the columns the rows have at this point of the
// pipeline (project narrows them).
type parser struct {
	toks  []token
	i     int
	avail map[string]bool
}

// parse parses a query of the supported KQL subset.
func parse(q string) (*query, error) {
	toks, err := lex(q)
	if err != nil {
		return nil, errorf(codeParser, "%v", err)
	}
	p := &parser{toks: toks, avail: map[string]bool{}}
	for _, c := range allColumns {
		p.avail[c] = true
	}
	out := &query{}
	first := p.peek()
	switch {
	case first.kind == tokIdent && strings.EqualFold(first.text, "resources"):
		p.i++
	case first.kind == tokIdent && isTabularOperator(first.text):
		// Resource Graph reads a query that starts with an operator from the Resources table.
		if err := p.stage(out); err != nil {
			return nil, err
		}
	case first.kind == tokIdent:
		return nil, errorf(codeTable, "the table '%s' is not supported: the emulator serves the Resources table only", first.text)
	default:
		return nil, p.unexpected()
	}
	for p.peek().kind != tokEOF {
		if !p.accept(tokPunct, "|") {
			return nil, p.unexpected()
		}
		if err := p.stage(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// isTabularOperator reports whether word starts a supported stage.
func isTabularOperator(word string) bool {
	switch word {
	case "where", "project", "order", "sort", "limit", "take":
		return true
	}
	return false
}

// stage parses one tabular operator and appends it to q.
func (p *parser) stage(q *query) error {
	t := p.next()
	if t.kind != tokIdent {
		return p.unexpectedAt(t)
	}
	var st stage
	var err error
	switch t.text {
	case "where":
		st.kind = stWhere
		st.cond, err = p.or()
	case "project":
		st.kind = stProject
		st.cols, err = p.project()
	case "order", "sort":
		st.kind = stOrder
		st.keys, err = p.orderBy()
	case "limit", "take":
		st.kind = stLimit
		st.n, err = p.count()
	default:
		return errorf(codeUnsupported, "the operator '%s' is not supported by the emulator: use where, project, order by, limit or take", t.text)
	}
	if err != nil {
		return err
	}
	q.stages = append(q.stages, st)
	return nil
}

// count parses the row count of limit and take.
func (p *parser) count() (int, error) {
	t := p.next()
	if t.kind != tokNumber {
		return 0, p.unexpectedAt(t)
	}
	n, err := strconv.Atoi(t.text)
	if err != nil {
		return 0, errorf(codeParser, "the count '%s' at position %d is not valid", t.text, t.pos)
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// accept consumes the next token when it is of kind with the text (any text when empty).
func (p *parser) accept(kind int, text string) bool {
	t := p.peek()
	if t.kind == kind && (text == "" || t.text == text) {
		p.i++
		return true
	}
	return false
}

func (p *parser) unexpected() error { return p.unexpectedAt(p.peek()) }

func (p *parser) unexpectedAt(t token) error {
	if t.kind == tokEOF {
		return errorf(codeParser, "unexpected end of the query at position %d", t.pos)
	}
	return errorf(codeParser, "unexpected token '%s' at position %d", t.text, t.pos)
}
