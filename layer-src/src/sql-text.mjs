/**
 * SQL text as it may be recorded in a span (`db.query.text`, X-Ray's `sql.sanitized_query`): every
 * literal value replaced with `?`, the rest (keywords, identifiers, placeholders such as `$1`,
 * `?` or `:name`, comments) kept as written. A query run with parameters keeps its shape; one
 * that inlines values does not record them.
 */

/** Tokens kept as they are. */
const COMMENT = /--[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\//;
const PLACEHOLDER = /\$\d+/;
/** Before numbers, so that the digits of an identifier (`t1`) are not taken for a number. */
const WORD = /[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*/;
/** Literals. */
const NUMBER = /0[xX][0-9A-Fa-f]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/;

/**
 * How each dialect quotes. PostgreSQL: `'...'` is a string in which a backslash is itself, `E'...'`
 * one with backslash escapes, `$tag$...$tag$` a string, `"..."` an identifier.
 * https://www.postgresql.org/docs/current/sql-syntax-lexical.html
 * MySQL: `'...'` and `"..."` are strings with backslash escapes, `` `...` `` an identifier.
 * https://dev.mysql.com/doc/refman/8.4/en/string-literals.html
 */
const DIALECTS = {
  postgresql: {
    literals: [/[Ee]'(?:[^'\\]|\\[\s\S]|'')*'/, /\$(?<tag>[A-Za-z_]\w*)?\$[\s\S]*?\$\k<tag>\$/, /(?:[BbXxNn]|[Uu]&)?'(?:[^']|'')*'/],
    kept: [/(?:[Uu]&)?"(?:[^"]|"")*"/],
    comments: /--[^\n]*|\/\*[\s\S]*?\*\//,
  },
  mysql: {
    literals: [/(?:_\w+)?[BbXxNn]?'(?:[^'\\]|\\[\s\S]|'')*'/, /"(?:[^"\\]|\\[\s\S]|"")*"/],
    kept: [/`(?:[^`]|``)*`/],
    comments: COMMENT,
  },
};

const TOKENS = Object.fromEntries(Object.entries(DIALECTS).map(([name, { literals, kept, comments }]) => {
  const group = (groupName, parts) => `(?<${groupName}>${parts.map((part) => part.source).join('|')})`;
  const source = [group('comment', [comments]), group('literal', literals), group('kept', [...kept, PLACEHOLDER, WORD]), group('number', [NUMBER])].join('|');
  return [name, new RegExp(source, 'g')];
}));

/**
 * @param {string} text the statement as the application ran it
 * @param {'postgresql' | 'mysql'} dialect how the database reads quotes and backslashes
 * @returns {string}
 */
export function sanitizeSql(text, dialect) {
  if (typeof text !== 'string') return text;
  return text.replace(TOKENS[dialect], (token, ...args) => {
    const groups = args.at(-1);
    return groups.literal !== undefined || groups.number !== undefined ? '?' : token;
  });
}
