//! One way of speaking SQL to either backend: the store's domain methods prepare,
//! execute and read rows through [`Conn`], whatever holds the transaction underneath.
//!
//! Statements are written once, in the subset SQLite and PostgreSQL share: `?N`
//! placeholders (rewritten to `$N` for PostgreSQL), `x''` for an empty blob, integers for
//! times and flags, `CASE` instead of the two-argument `max`, `CAST(sum(..) AS BIGINT)`
//! (PostgreSQL sums integers into `numeric`). A value travels as a [`Param`] and comes
//! back as a [`Cell`]: null, integer, text or bytes, the four types the schema uses.

use std::cell::RefCell;

use tokio_postgres::types::{self as pg_types, IsNull, ToSql, Type};

use super::StoreError;
use crate::error::{Error, Result};

/// A value bound to a placeholder.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    /// SQL NULL.
    Null,
    /// An integer (flags are 0 and 1; times are milliseconds).
    Int(i64),
    /// Text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

impl Param<'_> {
    /// What kind of value it is (never the value: it may be an address or a hash).
    fn kind(&self) -> &'static str {
        match self {
            Param::Null => "null",
            Param::Int(_) => "an integer",
            Param::Text(_) => "text",
            Param::Blob(_) => "bytes",
        }
    }
}

/// Something that can be bound to a placeholder.
pub trait ToParam {
    /// The value to bind.
    fn to_param(&self) -> Param<'_>;
}

impl ToParam for Param<'_> {
    fn to_param(&self) -> Param<'_> {
        *self
    }
}

impl<T: ToParam + ?Sized> ToParam for &T {
    fn to_param(&self) -> Param<'_> {
        (**self).to_param()
    }
}

impl<T: ToParam> ToParam for Option<T> {
    fn to_param(&self) -> Param<'_> {
        self.as_ref().map_or(Param::Null, ToParam::to_param)
    }
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl ToParam for $t {
            fn to_param(&self) -> Param<'_> {
                Param::Int(*self as i64)
            }
        }
    )*};
}
// Lossless for every value the hub stores (sizes, counts and times far below 2^63).
int_param!(i64, i32, u32, u64, usize, u8, u16);

impl ToParam for bool {
    fn to_param(&self) -> Param<'_> {
        Param::Int(i64::from(*self))
    }
}

impl ToParam for str {
    fn to_param(&self) -> Param<'_> {
        Param::Text(self)
    }
}

impl ToParam for String {
    fn to_param(&self) -> Param<'_> {
        Param::Text(self)
    }
}

impl ToParam for [u8] {
    fn to_param(&self) -> Param<'_> {
        Param::Blob(self)
    }
}

impl ToParam for Vec<u8> {
    fn to_param(&self) -> Param<'_> {
        Param::Blob(self)
    }
}

/// The values for a statement's placeholders, in order.
pub trait Params {
    /// The values.
    fn params(&self) -> Vec<Param<'_>>;
}

impl Params for [Param<'_>; 0] {
    fn params(&self) -> Vec<Param<'_>> {
        Vec::new()
    }
}

impl Params for &[Param<'_>] {
    fn params(&self) -> Vec<Param<'_>> {
        self.to_vec()
    }
}

macro_rules! array_params {
    ($($n:literal)*) => {$(
        impl<T: ToParam> Params for [T; $n] {
            fn params(&self) -> Vec<Param<'_>> {
                self.iter().map(ToParam::to_param).collect()
            }
        }
    )*};
}
array_params!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24);

/// The values of a statement's placeholders, of mixed types: `params![id, size, blob]`.
macro_rules! params {
    () => { [] as [$crate::store::sql::Param<'static>; 0] };
    ($($x:expr),+ $(,)?) => {
        [$($crate::store::sql::ToParam::to_param(&$x)),+]
    };
}
pub(crate) use params;

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Null => ValueRef::Null,
            Param::Int(i) => ValueRef::Integer(i),
            Param::Text(s) => ValueRef::Text(s.as_bytes()),
            Param::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // PostgreSQL tells each placeholder's type from the statement; the schema's
        // integers are BIGINT, but an expression may want a smaller one or a boolean.
        match (*self, ty) {
            (Param::Null, _) => Ok(IsNull::Yes),
            (Param::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Param::Int(i), &Type::INT4) => i32::try_from(i)?.to_sql(ty, out),
            (Param::Int(i), &Type::INT2) => i16::try_from(i)?.to_sql(ty, out),
            (Param::Int(i), &Type::BOOL) => (i != 0).to_sql(ty, out),
            (Param::Text(s), _) if <&str as ToSql>::accepts(ty) => s.to_sql(ty, out),
            (Param::Blob(b), &Type::BYTEA) => b.to_sql(ty, out),
            (param, ty) => {
                Err(format!("cannot bind {} to a {ty} placeholder", param.kind()).into())
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    pg_types::to_sql_checked!();
}

/// A value read from a row.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    /// SQL NULL.
    Null,
    /// An integer (booleans read as 0 and 1).
    Int(i64),
    /// Text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

/// A value of any of the schema's types, owned: for copying rows whatever their table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Column for Value {
    fn from_cell(cell: Cell<'_>) -> std::result::Result<Self, String> {
        Ok(match cell {
            Cell::Null => Value::Null,
            Cell::Int(i) => Value::Int(i),
            Cell::Text(t) => Value::Text(t.to_owned()),
            Cell::Blob(b) => Value::Blob(b.to_vec()),
        })
    }
}

impl ToParam for Value {
    fn to_param(&self) -> Param<'_> {
        match self {
            Value::Null => Param::Null,
            Value::Int(i) => Param::Int(*i),
            Value::Text(t) => Param::Text(t),
            Value::Blob(b) => Param::Blob(b),
        }
    }
}

/// A Rust value a column can be read into.
pub trait Column: Sized {
    /// Converts the cell, or says what it held instead.
    fn from_cell(cell: Cell<'_>) -> std::result::Result<Self, String>;
}

impl Column for i64 {
    fn from_cell(cell: Cell<'_>) -> std::result::Result<Self, String> {
        match cell {
            Cell::Int(i) => Ok(i),
            other => Err(format!("expected an integer, found {}", kind(&other))),
        }
    }
}

macro_rules! int_column {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn from_cell(cell: Cell<'_>) -> std::result::Result<Self, String> {
                let i = i64::from_cell(cell)?;
                <$t>::try_from(i).map_err(|_| format!("{i} does not fit a {}", stringify!($t)))
            }
        }
    )*};
}
int_column!(i32, u32, u64, usize, u8, u16);

impl Column for bool {
    fn from_cell(cell: Cell<'_>) -> std::result::Result<Self, String> {
        Ok(i64::from_cell(cell)? != 0)
    }
}

impl Column for String {
    fn from_cell(cell: Cell<'_>) -> std::result::Result<Self, String> {
        match cell {
            Cell::Text(s) => Ok(s.to_owned()),
            other => Err(format!("expected text, found {}", kind(&other))),
        }
    }
}

impl Column for Vec<u8> {
    fn from_cell(cell: Cell<'_>) -> std::result::Result<Self, String> {
        match cell {
            Cell::Blob(b) => Ok(b.to_vec()),
            other => Err(format!("expected bytes, found {:?}", kind(&other))),
        }
    }
}

impl<T: Column> Column for Option<T> {
    fn from_cell(cell: Cell<'_>) -> std::result::Result<Self, String> {
        match cell {
            Cell::Null => Ok(None),
            cell => T::from_cell(cell).map(Some),
        }
    }
}

fn kind(cell: &Cell<'_>) -> &'static str {
    match cell {
        Cell::Null => "null",
        Cell::Int(_) => "an integer",
        Cell::Text(_) => "text",
        Cell::Blob(_) => "bytes",
    }
}

/// A column's position in a row (counted from 0).
pub trait ColumnIndex {
    /// The position.
    fn index(self) -> usize;
}

impl ColumnIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// One row of a result.
pub enum Row<'r> {
    /// From SQLite.
    Lite(&'r rusqlite::Row<'r>),
    /// From PostgreSQL.
    Pg(&'r tokio_postgres::Row),
}

impl Row<'_> {
    /// The value of column `idx`, converted.
    pub fn get<I: ColumnIndex, T: Column>(&self, idx: I) -> Result<T> {
        let idx = idx.index();
        let converted = match self {
            Row::Lite(r) => {
                use rusqlite::types::ValueRef;
                let cell = match r.get_ref(idx)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(i) => Cell::Int(i),
                    ValueRef::Text(t) => Cell::Text(std::str::from_utf8(t).map_err(|_| {
                        Error::Store(StoreError::Column(format!("column {idx} is not UTF-8")))
                    })?),
                    ValueRef::Blob(b) => Cell::Blob(b),
                    ValueRef::Real(_) => {
                        return Err(Error::Store(StoreError::Column(format!(
                            "column {idx} holds a real number"
                        ))))
                    }
                };
                T::from_cell(cell)
            }
            Row::Pg(r) => {
                let raw: Raw = r.try_get(idx).map_err(StoreError::Postgres)?;
                let cell = raw.cell().map_err(|e| StoreError::Column(e.to_string()))?;
                T::from_cell(cell)
            }
        };
        converted.map_err(|e| Error::Store(StoreError::Column(format!("column {idx}: {e}"))))
    }
}

/// A PostgreSQL value as it came off the wire, decoded by [`Raw::cell`].
struct Raw<'a>(Option<(&'a Type, &'a [u8])>);

impl<'a> pg_types::FromSql<'a> for Raw<'a> {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        // Types live in the row's column list for as long as the row; the static table
        // below has the ones the store reads.
        let ty: &'static Type = match *ty {
            Type::INT8 => &Type::INT8,
            Type::INT4 => &Type::INT4,
            Type::INT2 => &Type::INT2,
            Type::BOOL => &Type::BOOL,
            Type::BYTEA => &Type::BYTEA,
            Type::TEXT => &Type::TEXT,
            Type::VARCHAR => &Type::VARCHAR,
            Type::NAME => &Type::NAME,
            Type::BPCHAR => &Type::BPCHAR,
            ref other => return Err(format!("the store does not read {other} columns").into()),
        };
        Ok(Raw(Some((ty, raw))))
    }

    fn from_sql_null(
        _: &Type,
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

impl<'a> Raw<'a> {
    fn cell(&self) -> std::result::Result<Cell<'a>, Box<dyn std::error::Error + Sync + Send>> {
        use pg_types::FromSql;
        let Some((ty, raw)) = self.0 else {
            return Ok(Cell::Null);
        };
        Ok(match *ty {
            Type::INT8 => Cell::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Cell::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Cell::Int(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Cell::Int(bool::from_sql(ty, raw)?.into()),
            Type::BYTEA => Cell::Blob(raw),
            _ => Cell::Text(<&str>::from_sql(ty, raw)?),
        })
    }
}

/// An open transaction on one of the backends.
pub enum Conn<'a> {
    /// SQLite, through rusqlite.
    Lite(&'a rusqlite::Transaction<'a>),
    /// PostgreSQL: a pooled connection's transaction, driven from this (blocking) thread.
    Pg(&'a super::postgres::PgTx<'a>),
}

/// A prepared statement.
pub enum Stmt<'c> {
    /// SQLite's, from its statement cache or not.
    Lite(StmtLite<'c>),
    /// PostgreSQL's, and the transaction that runs it.
    Pg(&'c super::postgres::PgTx<'c>, tokio_postgres::Statement),
}

/// A SQLite statement, cached or not.
pub enum StmtLite<'c> {
    /// From the connection's statement cache.
    Cached(rusqlite::CachedStatement<'c>),
    /// Prepared for this use.
    Plain(rusqlite::Statement<'c>),
}

impl<'c> StmtLite<'c> {
    fn get(&mut self) -> &mut rusqlite::Statement<'c> {
        match self {
            StmtLite::Cached(s) => s,
            StmtLite::Plain(s) => s,
        }
    }
}

impl<'a> Conn<'a> {
    /// Prepares `sql` through the connection's statement cache.
    pub fn prepare_cached(&self, sql: &str) -> Result<Stmt<'a>> {
        match *self {
            Conn::Lite(tx) => Ok(Stmt::Lite(StmtLite::Cached(tx.prepare_cached(sql)?))),
            Conn::Pg(tx) => Ok(Stmt::Pg(tx, tx.prepare(sql)?)),
        }
    }

    /// Prepares `sql` (for a statement run once).
    pub fn prepare(&self, sql: &str) -> Result<Stmt<'a>> {
        match *self {
            Conn::Lite(tx) => Ok(Stmt::Lite(StmtLite::Plain(tx.prepare(sql)?))),
            Conn::Pg(tx) => Ok(Stmt::Pg(tx, tx.prepare(sql)?)),
        }
    }

    /// Runs `sql` once; returns how many rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    /// The first row of `sql`, read by `f`; [`StoreError::NoRows`] if there is none.
    pub fn query_row<T, P: Params, F: FnOnce(&Row) -> Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

impl Stmt<'_> {
    /// Runs the statement; returns how many rows it changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        let values = params.params();
        match self {
            Stmt::Lite(s) => Ok(s.get().execute(rusqlite::params_from_iter(values.iter()))?),
            Stmt::Pg(tx, stmt) => Ok(tx.execute(stmt, &values)? as usize),
        }
    }

    /// The first row, read by `f`; [`StoreError::NoRows`] if there is none.
    pub fn query_row<T, P: Params, F: FnOnce(&Row) -> Result<T>>(
        &mut self,
        params: P,
        f: F,
    ) -> Result<T> {
        let mut f = Some(f);
        let mut out = None;
        self.each(params, |row| {
            if let Some(f) = f.take() {
                out = Some(f(row)?);
            }
            Ok(())
        })?;
        out.ok_or(Error::Store(StoreError::NoRows))
    }

    /// Every row, each read by `f`.
    pub fn query_map<P: Params, T>(
        &mut self,
        params: P,
        mut f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<std::vec::IntoIter<Result<T>>> {
        let mut out = Vec::new();
        self.each(params, |row| {
            out.push(f(row));
            Ok(())
        })?;
        Ok(out.into_iter())
    }

    /// Calls `f` on each row in turn.
    pub fn each<P: Params>(
        &mut self,
        params: P,
        mut f: impl FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        let values = params.params();
        match self {
            Stmt::Lite(s) => {
                let mut rows = s.get().query(rusqlite::params_from_iter(values.iter()))?;
                while let Some(r) = rows.next()? {
                    f(&Row::Lite(r))?;
                }
                Ok(())
            }
            Stmt::Pg(tx, stmt) => {
                for r in tx.query(stmt, &values)? {
                    f(&Row::Pg(&r))?;
                }
                Ok(())
            }
        }
    }
}

/// `.optional()` on a single-row read: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    /// `Ok(None)` for [`StoreError::NoRows`].
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::Store(StoreError::NoRows)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// `sql` with SQLite's `?N` placeholders as PostgreSQL's `$N` and blob literals
/// (`x'0a'`) as `bytea` ones. Quoted text and identifiers are left alone.
pub fn to_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let bytes = sql.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let c = bytes[i];
        if let Some(q) = quote {
            let ch = sql[i..].chars().next().expect("BUG: inside the string");
            out.push(ch);
            if c == q {
                quote = None;
            }
            i += ch.len_utf8();
            continue;
        }
        let word_before = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        match c {
            b'\'' | b'"' => {
                quote = Some(c);
                out.push(c as char);
                i += 1;
            }
            b'?' => {
                out.push('$');
                i += 1;
            }
            b'x' | b'X' if !word_before && bytes.get(i + 1) == Some(&b'\'') => {
                let end = sql[i + 2..].find('\'').map_or(bytes.len(), |e| i + 2 + e);
                out.push_str("'\\x");
                out.push_str(&sql[i + 2..end]);
                out.push_str("'::bytea");
                i = end + 1;
            }
            _ => {
                // Multi-byte characters pass through whole.
                let ch = sql[i..].chars().next().expect("BUG: inside the string");
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// The mailbox states a transaction advanced, for the commit hook.
pub type Advanced = RefCell<Vec<(String, i64)>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_rewritten_for_postgres() {
        assert_eq!(
            to_postgres("SELECT a FROM t WHERE b = ?1 AND c = x'' AND d = 'x''?' AND e = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '\\x'::bytea AND d = 'x''?' AND e = $12"
        );
        assert_eq!(to_postgres("SELECT max(x) FROM t"), "SELECT max(x) FROM t");
        assert_eq!(
            to_postgres("SELECT 'ä?' || ?1, 'é'"),
            "SELECT 'ä?' || $1, 'é'"
        );
    }
}
