//! Where a command template opts out of shell quoting, and what it opts
//! out with: the planner uses this to refuse `{{ x | raw }}` for a value
//! derived from remote output in a `local` or `sudo` step, where it would
//! let a host run code on the controller or as root.
//!
//! The walk is over minijinja's syntax tree (its `unstable_machinery`
//! parser, pinned by Cargo.lock): a check on the tree sees every way to
//! reach a value (`data[0]`, `(x ~ y) | raw`, a loop variable, a `set`),
//! which a search of the text would not.

use std::collections::BTreeSet;
use std::ops::Range;

use minijinja::machinery::ast::{CallArg, Expr, Stmt};
use minijinja::machinery::{WhitespaceConfig, parse};
use minijinja::syntax::SyntaxConfig;

/// One `raw` filter in a command template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawUse {
    /// Byte range of the filtered expression and the filter in the source.
    pub range: Range<usize>,
    /// Every variable the filtered value (or the filter's arguments) reads.
    pub reads: BTreeSet<String>,
}

/// What [`opt_outs`] found in a command template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptOuts {
    pub raw: Vec<RawUse>,
    /// Names the template binds itself (`for`, `set`, `with`, macro
    /// arguments): a `raw` reading one of them cannot be traced to an
    /// author-written value, so it is treated as remote.
    pub bound: BTreeSet<String>,
    /// `{% autoescape %}` blocks, which would turn quoting off wholesale.
    pub autoescape: Vec<Range<usize>>,
    /// Values printed inside shell quotes written in the template
    /// (`'{{ x }}'`, `"{{ x }}"`): the value's own quotes would close the
    /// template's, leaving the value unquoted. With the quote character.
    pub in_quotes: Vec<(Range<usize>, char)>,
    /// The shell quoting state after the text seen so far.
    shell: ShellState,
}

/// A small model of how a POSIX shell reads quotes, enough to tell
/// whether a `{{ … }}` falls inside quotes the template wrote. `$(…)` and
/// backticks open a fresh context (quotes inside a command substitution
/// are read anew), so `"$(cat {{ f }})"` is fine.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ShellState {
    stack: Vec<Context>,
    escaped: bool,
    dollar: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Outside quotes; `Some(')')` or `Some('`')` inside a substitution.
    Plain(Option<char>),
    Single,
    Double,
}

impl Default for ShellState {
    fn default() -> Self {
        ShellState {
            stack: vec![Context::Plain(None)],
            escaped: false,
            dollar: false,
        }
    }
}

impl ShellState {
    fn top(&self) -> Context {
        self.stack.last().copied().unwrap_or(Context::Plain(None))
    }

    fn feed(&mut self, text: &str) {
        for c in text.chars() {
            let dollar = std::mem::take(&mut self.dollar);
            if std::mem::take(&mut self.escaped) {
                continue;
            }
            match (self.top(), c) {
                (Context::Single, '\'') => {
                    self.stack.pop();
                }
                (Context::Single, _) => {}
                (Context::Plain(_) | Context::Double, '\\') => self.escaped = true,
                (Context::Plain(_) | Context::Double, '$') => self.dollar = true,
                (Context::Plain(_) | Context::Double, '(') if dollar => {
                    self.stack.push(Context::Plain(Some(')')))
                }
                (Context::Plain(Some('`')), '`') | (Context::Plain(Some(')')), ')') => {
                    self.stack.pop();
                }
                (Context::Plain(_) | Context::Double, '`') => {
                    self.stack.push(Context::Plain(Some('`')))
                }
                (Context::Plain(_), '\'') => self.stack.push(Context::Single),
                (Context::Plain(_), '"') => self.stack.push(Context::Double),
                (Context::Double, '"') => {
                    self.stack.pop();
                }
                _ => {}
            }
        }
        if self.stack.is_empty() {
            self.stack.push(Context::Plain(None));
        }
    }
}

/// Parses `source` as a template and lists its opt-outs. A syntax error is
/// returned as is (the loader reports those with their own message).
// `SyntaxConfig` is a unit struct only without minijinja's `custom_syntax`
// feature; `default()` builds it either way.
#[allow(clippy::default_constructed_unit_structs)]
pub fn opt_outs(source: &str) -> Result<OptOuts, minijinja::Error> {
    let ast = std::panic::catch_unwind(|| {
        parse(
            source,
            super::shell::COMMAND_TEMPLATE,
            SyntaxConfig::default(),
            WhitespaceConfig::default(),
        )
        .map(|stmt| {
            let mut found = OptOuts::default();
            stmt_walk(&stmt, &mut found);
            found
        })
    });
    ast.unwrap_or_else(|_| {
        Err(minijinja::Error::new(
            minijinja::ErrorKind::SyntaxError,
            "the template cannot be parsed",
        ))
    })
}

fn range(span: minijinja::machinery::Span) -> Range<usize> {
    span.start_offset as usize..span.end_offset as usize
}

fn stmts(body: &[Stmt<'_>], found: &mut OptOuts) {
    body.iter().for_each(|s| stmt_walk(s, found));
}

fn stmt_walk(stmt: &Stmt<'_>, found: &mut OptOuts) {
    match stmt {
        Stmt::Template(t) => stmts(&t.children, found),
        Stmt::EmitExpr(e) => {
            let is_raw = matches!(&e.expr, Expr::Filter(f) if f.name == "raw");
            match found.shell.top() {
                Context::Single if !is_raw => found.in_quotes.push((range(e.span()), '\'')),
                Context::Double if !is_raw => found.in_quotes.push((range(e.span()), '"')),
                _ => {}
            }
            expr(&e.expr, found)
        }
        Stmt::EmitRaw(r) => found.shell.feed(r.raw),
        Stmt::Extends(x) => expr(&x.name, found),
        Stmt::Block(b) => stmts(&b.body, found),
        Stmt::ForLoop(f) => {
            bind(&f.target, found);
            expr(&f.iter, found);
            if let Some(e) = &f.filter_expr {
                expr(e, found);
            }
            found.bound.insert("loop".into());
            stmts(&f.body, found);
            stmts(&f.else_body, found);
        }
        Stmt::IfCond(i) => {
            expr(&i.expr, found);
            stmts(&i.true_body, found);
            stmts(&i.false_body, found);
        }
        Stmt::WithBlock(w) => {
            for (target, value) in &w.assignments {
                bind(target, found);
                expr(value, found);
            }
            stmts(&w.body, found);
        }
        Stmt::Set(s) => {
            bind(&s.target, found);
            expr(&s.expr, found);
        }
        Stmt::SetBlock(s) => {
            bind(&s.target, found);
            if let Some(f) = &s.filter {
                expr(f, found);
            }
            stmts(&s.body, found);
        }
        Stmt::AutoEscape(a) => {
            found.autoescape.push(range(a.span()));
            stmts(&a.body, found);
        }
        Stmt::FilterBlock(f) => {
            expr(&f.filter, found);
            stmts(&f.body, found);
        }
        Stmt::Import(i) => {
            expr(&i.expr, found);
            bind(&i.name, found);
        }
        Stmt::FromImport(i) => {
            expr(&i.expr, found);
            for (name, alias) in &i.names {
                bind(alias.as_ref().unwrap_or(name), found);
            }
        }
        Stmt::Include(i) => expr(&i.name, found),
        Stmt::Macro(m) => {
            found.bound.insert(m.name.to_string());
            m.args.iter().for_each(|a| bind(a, found));
            m.defaults.iter().for_each(|d| expr(d, found));
            found.bound.insert("caller".into());
            found.bound.insert("varargs".into());
            found.bound.insert("kwargs".into());
            stmts(&m.body, found);
        }
        Stmt::CallBlock(c) => {
            expr(&c.call.expr, found);
            c.call.args.iter().for_each(|a| call_arg(a, found));
            c.macro_decl.args.iter().for_each(|a| bind(a, found));
            c.macro_decl.defaults.iter().for_each(|d| expr(d, found));
            found.bound.insert("caller".into());
            stmts(&c.macro_decl.body, found);
        }
        Stmt::Do(d) => {
            expr(&d.call.expr, found);
            d.call.args.iter().for_each(|a| call_arg(a, found));
        }
    }
}

/// Records every name an assignment target binds.
fn bind(target: &Expr<'_>, found: &mut OptOuts) {
    let mut names = BTreeSet::new();
    reads(target, &mut names);
    found.bound.extend(names);
}

fn call_arg(arg: &CallArg<'_>, found: &mut OptOuts) {
    match arg {
        CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => {
            expr(e, found)
        }
    }
}

fn expr(e: &Expr<'_>, found: &mut OptOuts) {
    if let Expr::Filter(f) = e
        && f.name == "raw"
    {
        let mut names = BTreeSet::new();
        if let Some(subject) = &f.expr {
            reads(subject, &mut names);
        }
        for arg in &f.args {
            arg_reads(arg, &mut names);
        }
        found.raw.push(RawUse {
            range: range(f.span()),
            reads: names,
        });
    }
    children(e, &mut |child| expr(child, found));
}

/// Every variable `e` reads, at any depth.
fn reads(e: &Expr<'_>, names: &mut BTreeSet<String>) {
    if let Expr::Var(v) = e {
        names.insert(v.id.to_string());
    }
    children(e, &mut |child| reads(child, names));
}

fn arg_reads(arg: &CallArg<'_>, names: &mut BTreeSet<String>) {
    match arg {
        CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => {
            reads(e, names)
        }
    }
}

/// Calls `f` on each direct sub-expression of `e`.
fn children<'a>(e: &'a Expr<'a>, f: &mut dyn FnMut(&'a Expr<'a>)) {
    let arg = |a: &'a CallArg<'a>, f: &mut dyn FnMut(&'a Expr<'a>)| match a {
        CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => {
            f(e)
        }
    };
    match e {
        Expr::Var(_) | Expr::Const(_) => {}
        Expr::Slice(s) => {
            f(&s.expr);
            for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                f(part);
            }
        }
        Expr::UnaryOp(u) => f(&u.expr),
        Expr::BinOp(b) => {
            f(&b.left);
            f(&b.right);
        }
        Expr::Compare(c) => {
            f(&c.expr);
            c.ops.iter().for_each(|op| f(&op.expr));
        }
        Expr::IfExpr(i) => {
            f(&i.test_expr);
            f(&i.true_expr);
            if let Some(e) = &i.false_expr {
                f(e);
            }
        }
        Expr::Filter(x) => {
            if let Some(e) = &x.expr {
                f(e);
            }
            x.args.iter().for_each(|a| arg(a, f));
        }
        Expr::Test(t) => {
            f(&t.expr);
            t.args.iter().for_each(|a| arg(a, f));
        }
        Expr::GetAttr(g) => f(&g.expr),
        Expr::GetItem(g) => {
            f(&g.expr);
            f(&g.subscript_expr);
        }
        Expr::Call(c) => {
            f(&c.expr);
            c.args.iter().for_each(|a| arg(a, f));
        }
        Expr::List(l) => {
            for item in &l.items {
                f(item);
            }
        }
        Expr::Map(m) => {
            for item in m.keys.iter().chain(&m.values) {
                f(item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads_of(source: &str) -> Vec<Vec<String>> {
        opt_outs(source)
            .unwrap_or_else(|e| panic!("{e}"))
            .raw
            .into_iter()
            .map(|r| r.reads.into_iter().collect())
            .collect()
    }

    #[test]
    fn finds_every_raw_and_what_it_reads() {
        assert_eq!(reads_of("{{ aws | raw }} s3 ls {{ bucket }}"), [["aws"]]);
        assert_eq!(
            reads_of("{{ (aws ~ data[0].x) | upper | raw }}"),
            [["aws", "data"]]
        );
        assert_eq!(reads_of("{{ x | default(row) | raw }}"), [["row", "x"]]);
        assert_eq!(reads_of("{{ aws | raw(data) }}"), [["aws", "data"]]);
        assert!(reads_of("echo {{ data }}").is_empty());
        assert_eq!(
            reads_of(
                "{% if x %}{% for y in data %}{{ [y] | join(' ') | raw }}{% endfor %}{% endif %}"
            ),
            [["y"]]
        );
    }

    #[test]
    fn template_bindings_and_autoescape_are_reported() {
        let found = opt_outs(
            "{% set a = data %}{% macro m(v) %}{{ v }}{% endmacro %}{% autoescape false %}{{ a }}{% endautoescape %}",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            found.bound.contains("a") && found.bound.contains("v") && found.bound.contains("m")
        );
        assert_eq!(found.autoescape.len(), 1);
    }

    fn quoted(source: &str) -> Vec<char> {
        opt_outs(source)
            .unwrap_or_else(|e| panic!("{e}"))
            .in_quotes
            .into_iter()
            .map(|(_, q)| q)
            .collect()
    }

    #[test]
    fn values_inside_quotes_the_template_wrote_are_found() {
        assert_eq!(quoted("curl -H 'Bearer {{ t }}' x"), ['\'']);
        assert_eq!(quoted(r#"echo "{{ t }}""#), ['"']);
        assert_eq!(
            quoted(r#"echo 'it''s' {{ t }} "a" {{ u }}"#),
            Vec::<char>::new()
        );
        assert_eq!(
            quoted(r#"x="$(cat {{ f }})" \' {{ g }}"#),
            Vec::<char>::new()
        );
        assert_eq!(
            quoted("echo `ls {{ d }}` '{{ aws | raw }}'"),
            Vec::<char>::new()
        );
        assert_eq!(
            quoted("docker ps --format '{% raw %}{{.Names}}{% endraw %}' {{ x }}"),
            Vec::<char>::new()
        );
    }
}
