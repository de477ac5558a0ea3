package resourcegraph

import (
	"strings"
)

// The comparison operators of where.
var compareOps = map[string]bool{
	"==": true, "=~": true, "!=": true, "!~": true,
	"in": true, "in~": true, "contains": true, "startswith": true,
}

// or parses a condition: and-terms joined by or.
func (p *parser) or() (expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.accept(tokIdent, "or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = binary{and: false, l: l, r: r}
	}
	return l, nil
}

// and parses comparisons joined by and (which binds tighter than or).
func (p *parser) and() (expr, error) {
	l, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.accept(tokIdent, "and") {
		r, err := p.primary()
		if err != nil {
			return nil, err
		}
		l = binary{and: true, l: l, r: r}
	}
	return l, nil
}

// primary parses a parenthesized condition, isempty(column) / isnotempty(column), or a
// comparison.
func (p *parser) primary() (expr, error) {
	if t := p.peek(); t.kind == tokIdent && (t.text == "isempty" || t.text == "isnotempty") {
		return p.emptiness()
	}
	if p.accept(tokPunct, "(") {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.accept(tokPunct, ")") {
			return nil, p.unexpected()
		}
		return e, nil
	}
	col, err := p.column()
	if err != nil {
		return nil, err
	}
	opTok := p.next()
	op := opTok.text
	if opTok.kind == tokIdent {
		op = strings.ToLower(op)
	}
	if opTok.kind == tokEOF || !compareOps[op] {
		if opTok.kind == tokIdent {
			return nil, errorf(codeUnsupported, "the operator '%s' at position %d is not supported by the emulator", opTok.text, opTok.pos)
		}
		return nil, p.unexpectedAt(opTok)
	}
	if op == "in" || op == "in~" {
		vals, err := p.stringList()
		return compare{col: col, op: op, vals: vals}, err
	}
	v := p.next()
	if v.kind != tokString {
		return nil, p.unexpectedAt(v)
	}
	return compare{col: col, op: op, vals: []string{v.text}}, nil
}

// emptiness parses isempty(column) or isnotempty(column): whether the column's value is
// missing or an empty string (a tag a resource does not have is).
func (p *parser) emptiness() (expr, error) {
	fn := p.next()
	if !p.accept(tokPunct, "(") {
		return nil, p.unexpected()
	}
	col, err := p.column()
	if err != nil {
		return nil, err
	}
	if !p.accept(tokPunct, ")") {
		return nil, p.unexpected()
	}
	op := "=="
	if fn.text == "isnotempty" {
		op = "!="
	}
	return compare{col: col, op: op, vals: []string{""}}, nil
}

// stringList parses ('a', 'b', ...).
func (p *parser) stringList() ([]string, error) {
	if !p.accept(tokPunct, "(") {
		return nil, p.unexpected()
	}
	var out []string
	for {
		v := p.next()
		if v.kind != tokString {
			return nil, p.unexpectedAt(v)
		}
		out = append(out, v.text)
		if p.accept(tokPunct, ")") {
			return out, nil
		}
		if !p.accept(tokPunct, ",") {
			return nil, p.unexpected()
		}
	}
}

// column parses a column reference: a name the rows have at this point, or tags['key'] /
// tags.key.
func (p *parser) column() (column, error) {
	t := p.next()
	if t.kind != tokIdent {
		return column{}, p.unexpectedAt(t)
	}
	if t.text == "tags" && (p.peek().text == "." || p.peek().text == "[") && p.peek().kind == tokPunct {
		if !p.avail["tags"] {
			return column{}, errorf(codeColumn, "the column 'tags' at position %d is not available after project", t.pos)
		}
		return p.tagKey()
	}
	if !p.avail[t.text] {
		return column{}, errorf(codeColumn, "failed to resolve the column '%s' at position %d (names are case-sensitive)", t.text, t.pos)
	}
	return column{name: t.text}, nil
}

// tagKey parses the .key or ['key'] after tags.
func (p *parser) tagKey() (column, error) {
	var key token
	if p.accept(tokPunct, ".") {
		key = p.next()
		if key.kind != tokIdent {
			return column{}, p.unexpectedAt(key)
		}
	} else {
		p.next() // [
		key = p.next()
		if key.kind != tokString {
			return column{}, p.unexpectedAt(key)
		}
		if !p.accept(tokPunct, "]") {
			return column{}, p.unexpected()
		}
	}
	return column{name: "tags_" + key.text, tag: key.text, tagged: true}, nil
}

// project parses the column list of project and narrows the available columns to it.
func (p *parser) project() ([]column, error) {
	var cols []column
	for {
		c, err := p.column()
		if err != nil {
			return nil, err
		}
		cols = append(cols, c)
		if !p.accept(tokPunct, ",") {
			break
		}
	}
	p.avail = map[string]bool{}
	for _, c := range cols {
		p.avail[c.name] = true
	}
	return cols, nil
}

// orderBy parses by col [asc|desc], ...; KQL sorts descending unless told.
func (p *parser) orderBy() ([]orderKey, error) {
	if !p.accept(tokIdent, "by") {
		return nil, p.unexpected()
	}
	var keys []orderKey
	for {
		c, err := p.column()
		if err != nil {
			return nil, err
		}
		k := orderKey{col: c, desc: true}
		if p.accept(tokIdent, "asc") {
			k.desc = false
		} else {
			p.accept(tokIdent, "desc")
		}
		keys = append(keys, k)
		if !p.accept(tokPunct, ",") {
			return keys, nil
		}
	}
}
