import type { SqlParams } from "./store";

/** A statement in PostgreSQL's form: `$1`, `$2`, ... and the values in that order. */
export interface NumberedStatement {
  readonly text: string;
  readonly values: unknown[];
}

interface Translation {
  readonly text: string;
  /** For named parameters, the name of each `$n`; null for positional ones. */
  readonly names: readonly string[] | null;
}

const translations = new Map<string, Translation>();

/**
 * Rewrites the shared dialect's parameters (`?` positional, or `@name` named) into PostgreSQL's `$n`. A name used
 * twice gets one number. The SQL of the indexer has no `?` or `@` inside string literals.
 */
export function numbered(sql: string, params: SqlParams | undefined): NumberedStatement {
  let translation = translations.get(sql);
  if (!translation) {
    translation = translate(sql);
    translations.set(sql, translation);
  }
  if (params === undefined) return { text: translation.text, values: [] };
  if (Array.isArray(params)) return { text: translation.text, values: [...params] };
  const named = params as Readonly<Record<string, unknown>>;
  const values = (translation.names ?? []).map((name) => {
    if (!(name in named)) throw new Error(`missing SQL parameter ${name}`);
    return named[name];
  });
  return { text: translation.text, values };
}

function translate(sql: string): Translation {
  if (sql.includes("@")) {
    const names: string[] = [];
    const text = sql.replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, (_match, name: string) => {
      let index = names.indexOf(name);
      if (index < 0) index = names.push(name) - 1;
      return `$${index + 1}`;
    });
    return { text, names };
  }
  let n = 0;
  return { text: sql.replace(/\?/g, () => `$${++n}`), names: null };
}
