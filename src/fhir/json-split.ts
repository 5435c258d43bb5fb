import { FhirLimitError, FhirValidationError } from "./errors";
import type { IngestLimits } from "./limits";

/**
 * An incremental JSON splitter for large FHIR input. It reads the text a chunk at a time with a
 * small tokenizer (strings, escapes and nesting tracked by hand) and cuts it at the boundaries
 * that matter: each element of the top-level object's `entry` array (a Bundle's entries), each
 * element of a top-level array (a wearable's list), and each other member of the top-level
 * object. Each piece is then parsed alone by `JSON.parse`, which is native, strict and safe with
 * `__proto__` (it defines own properties, never a prototype). Limits are enforced while the text
 * is read, before a piece is parsed or held: nesting depth, string length (decoded UTF-16 units),
 * piece size, entry count. So an oversized or hostile input is refused as soon as it is seen, and
 * memory never holds more than the parsed pieces plus one piece of text.
 *
 * The result equals `JSON.parse` of the whole text (a duplicate member: the last one wins), except
 * that a leading byte-order mark is ignored. The two top levels (object, `entry` array) are
 * checked by the state machine below; everything inside a piece is checked by `JSON.parse`, so
 * text that is not JSON is refused either way.
 */

// States of the top two levels.
const START = 0;
const OBJ_FIRST_KEY = 1; // after `{`: a key or `}`
const OBJ_KEY = 2; // after `,`: a key
const OBJ_KEY_STRING = 3; // inside a key
const OBJ_COLON = 4;
const OBJ_VALUE = 5;
const OBJ_AFTER_VALUE = 6;
const ARR_FIRST = 7; // after `[`: a value or `]`
const ARR_VALUE = 8; // after `,`: a value
const ARR_AFTER_VALUE = 9;
const PIECE = 10; // inside a captured value
const DONE = 11;

// Kinds of captured value.
const CONTAINER = 0;
const STRING = 1;
const SCALAR = 2;

// Where a captured value goes.
const TO_ELEMENT = 0; // an element of the `entry` array, or of a top-level array
const TO_MEMBER = 1; // a member of the top-level object
const TO_TOP = 2; // the top-level value itself (a scalar)

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const LOWER_U = 0x75;

/** JSON whitespace: space, tab, line feed, carriage return. */
function isSpace(ch: number): boolean {
  return ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09;
}

/** A member of the top-level object: its key as written (quotes included), decoded, and its value's text. */
interface Member {
  readonly raw: string;
  readonly key: string;
  readonly text: string;
}

export class JsonSplitter {
  private state = START;
  /** Absolute nesting depth of the top two levels (the top-level object or array is 1). */
  private depth = 0;
  private topArray = false;
  private topScalar = false;
  /** Elements parsed so far (of `entry`, or of the top-level array); undefined when there is none. */
  private elements: unknown[] | undefined;
  /** Members of the top-level object other than a split `entry`. */
  private members: Member[] = [];
  private membersBytes = 0;
  /** The key of the member being read: as written, and decoded. */
  private rawKey = "";
  private currentKey = "";
  // The captured value (or key): its text so far, in parts, and where it starts in the chunk.
  private kind = CONTAINER;
  private target = TO_ELEMENT;
  private parts: string[] = [];
  private partsLength = 0;
  private start = 0;
  private pieceDepth = 0;
  private pieceLimit = 0;
  // String state (inside a piece or a key).
  private inString = false;
  private escaped = false;
  private hexLeft = 0;
  private stringLength = 0;
  private first = true;
  private value: unknown = undefined;
  /** Where the chunk being read has its next backslash (searched once per chunk, not per string). */
  private nextBackslash = -1;

  constructor(private readonly limits: IngestLimits) {}

  /** Reads the next chunk of text. Throws a FhirValidationError (or FhirLimitError) on a fault. */
  write(chunk: string): void {
    let text = chunk;
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const n = text.length;
    this.nextBackslash = -1;
    let i = 0;
    while (i < n) {
      if (this.state === PIECE) {
        i = this.capture(text, i);
        continue;
      }
      if (this.state === OBJ_KEY_STRING) {
        i = this.readKey(text, i);
        continue;
      }
      const ch = text.charCodeAt(i);
      if (isSpace(ch)) {
        i++;
        continue;
      }
      switch (this.state) {
        case START:
          if (ch === OPEN_BRACE) {
            this.depth = 1;
            this.state = OBJ_FIRST_KEY;
            i++;
          } else if (ch === OPEN_BRACKET) {
            this.depth = 1;
            this.topArray = true;
            this.elements = [];
            this.state = ARR_FIRST;
            i++;
          } else {
            this.topScalar = true;
            this.begin(text, i, TO_TOP);
          }
          break;
        case OBJ_FIRST_KEY:
        case OBJ_KEY:
          if (ch === QUOTE) {
            this.state = OBJ_KEY_STRING;
            this.parts = ['"'];
            this.partsLength = 1;
            this.escaped = false;
            this.hexLeft = 0;
            this.stringLength = 0;
            i++;
            this.start = i;
          } else if (ch === CLOSE_BRACE && this.state === OBJ_FIRST_KEY) {
            this.depth = 0;
            this.state = DONE;
            i++;
          } else this.malformed();
          break;
        case OBJ_COLON:
          if (ch !== COLON) this.malformed();
          this.state = OBJ_VALUE;
          i++;
          break;
        case OBJ_VALUE:
          if (this.currentKey === "entry") {
            // The last `entry` wins, as with JSON.parse.
            this.members = this.members.filter((m) => m.key !== "entry");
            this.elements = undefined;
          }
          if (this.currentKey === "entry" && ch === OPEN_BRACKET) {
            this.elements = [];
            this.depth = 2;
            this.state = ARR_FIRST;
            i++;
          } else this.begin(text, i, TO_MEMBER);
          break;
        case OBJ_AFTER_VALUE:
          if (ch === COMMA) this.state = OBJ_KEY;
          else if (ch === CLOSE_BRACE) {
            this.depth = 0;
            this.state = DONE;
          } else this.malformed();
          i++;
          break;
        case ARR_FIRST:
        case ARR_VALUE:
          if (ch === CLOSE_BRACKET && this.state === ARR_FIRST) {
            i++;
            this.closeArray();
          } else this.begin(text, i, TO_ELEMENT);
          break;
        case ARR_AFTER_VALUE:
          i++;
          if (ch === COMMA) this.state = ARR_VALUE;
          else if (ch === CLOSE_BRACKET) this.closeArray();
          else this.malformed();
          break;
        default: // DONE: nothing but whitespace may follow
          this.malformed();
      }
    }
    // Keep what the chunk holds of an unfinished key or value.
    if ((this.state === PIECE || this.state === OBJ_KEY_STRING) && this.start < n) {
      this.parts.push(text.slice(this.start));
      this.partsLength += n - this.start;
    }
    this.start = 0;
  }

  /** Ends the input and returns the value it held. */
  end(): unknown {
    if (this.state === PIECE && this.kind === SCALAR) this.finish("", 0);
    if (this.state !== DONE) this.malformed();
    if (this.topArray) return this.elements;
    if (this.topScalar) return this.value;
    const object = this.parse(`{${this.members.map((m) => `${m.raw}:${m.text}`).join(",")}}`, "$") as Record<
      string,
      unknown
    >;
    if (this.elements !== undefined) {
      Object.defineProperty(object, "entry", {
        value: this.elements,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return object;
  }

  private closeArray(): void {
    if (this.topArray) {
      this.depth = 0;
      this.state = DONE;
    } else {
      this.depth = 1;
      this.state = OBJ_AFTER_VALUE;
    }
  }

  /** Starts capturing a value at `text[i]`. */
  private begin(text: string, i: number, target: number): void {
    const ch = text.charCodeAt(i);
    this.target = target;
    this.parts = [];
    this.partsLength = 0;
    this.start = i;
    this.inString = false;
    this.escaped = false;
    this.hexLeft = 0;
    this.pieceDepth = 0;
    this.pieceLimit =
      target === TO_MEMBER ? this.limits.maxResourceBytes - this.membersBytes : this.limits.maxResourceBytes;
    if (target === TO_ELEMENT && this.elements!.length >= this.limits.maxEntries) {
      throw new FhirLimitError(this.elementPath(), undefined, "maxEntries", this.limits.maxEntries);
    }
    if (ch === OPEN_BRACE || ch === OPEN_BRACKET) this.kind = CONTAINER;
    else if (ch === QUOTE) this.kind = STRING;
    else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET || ch === COMMA || ch === COLON) this.malformed();
    else this.kind = SCALAR;
    this.state = PIECE;
  }

  /** Scans a captured value from `text[from]`; returns where scanning stopped. */
  private capture(text: string, from: number): number {
    const n = text.length;
    let i = from;
    if (this.kind === SCALAR) {
      while (i < n) {
        const ch = text.charCodeAt(i);
        if (ch === COMMA || ch === CLOSE_BRACE || ch === CLOSE_BRACKET || isSpace(ch)) {
          this.finish(text, i);
          return i;
        }
        i++;
      }
      this.checkPieceSize(n - this.start);
      return n;
    }
    const maxString = this.limits.maxStringLength;
    const maxNesting = this.limits.maxDepth + 3 - this.depth;
    let depth = this.pieceDepth;
    let inString = this.inString;
    let escaped = this.escaped;
    let hexLeft = this.hexLeft;
    let stringLength = this.stringLength;
    let nextBackslash = this.nextBackslash;
    while (i < n) {
      if (inString && !escaped && hexLeft === 0) {
        // Inside a string: jump to its next quote or backslash (native search, for long base64 data).
        if (nextBackslash < i) {
          nextBackslash = text.indexOf("\\", i);
          if (nextBackslash < 0) nextBackslash = n;
          this.nextBackslash = nextBackslash;
        }
        let quote = text.indexOf('"', i);
        if (quote < 0) quote = n;
        const stop = quote < nextBackslash ? quote : nextBackslash;
        stringLength += stop - i;
        if (stringLength > maxString) this.tooLong();
        i = stop;
        if (i >= n) break;
      }
      const ch = text.charCodeAt(i++);
      if (inString) {
        if (escaped) {
          escaped = false;
          if (ch === LOWER_U) hexLeft = 4;
        } else if (hexLeft > 0) {
          hexLeft--;
        } else if (ch === QUOTE) {
          inString = false;
          if (depth === 0) {
            // A string value (kind STRING) ends here.
            this.inString = false;
            this.finish(text, i);
            return i;
          }
        } else {
          if (ch === BACKSLASH) escaped = true;
          if (++stringLength > maxString) this.tooLong();
        }
      } else if (ch === QUOTE) {
        inString = true;
        stringLength = 0;
      } else if (ch === OPEN_BRACE || ch === OPEN_BRACKET) {
        if (++depth > maxNesting) {
          throw new FhirLimitError(
            this.pieceTarget(),
            undefined,
            "maxDepth",
            this.limits.maxDepth,
            undefined,
            this.at(),
          );
        }
        // The size is checked here too, so that one huge chunk is refused before it is all scanned.
        this.checkPieceSize(i - this.start);
      } else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET) {
        if (--depth === 0) {
          this.pieceDepth = 0;
          this.finish(text, i);
          return i;
        }
      }
    }
    this.pieceDepth = depth;
    this.inString = inString;
    this.escaped = escaped;
    this.hexLeft = hexLeft;
    this.stringLength = stringLength;
    this.checkPieceSize(n - this.start);
    return n;
  }

  /** Reads a top-level key from `text[from]` (after its opening quote); returns where reading stopped. */
  private readKey(text: string, from: number): number {
    const n = text.length;
    let i = from;
    while (i < n) {
      const ch = text.charCodeAt(i++);
      if (this.escaped) {
        this.escaped = false;
        if (ch === LOWER_U) this.hexLeft = 4;
      } else if (this.hexLeft > 0) {
        this.hexLeft--;
      } else if (ch === QUOTE) {
        this.parts.push(text.slice(this.start, i));
        const raw = this.parts.join("");
        this.parts = [];
        this.partsLength = 0;
        this.rawKey = raw;
        this.currentKey = this.parse(raw, "$") as string;
        this.state = OBJ_COLON;
        return i;
      } else {
        if (ch === BACKSLASH) this.escaped = true;
        if (++this.stringLength > this.limits.maxStringLength) this.tooLong();
      }
    }
    return n;
  }

  /** A captured value ended at `end` (exclusive) of `text`. */
  private finish(text: string, end: number): void {
    const last = text.slice(this.start, end);
    const pieceText = this.parts.length === 0 ? last : this.parts.join("") + last;
    this.parts = [];
    this.partsLength = 0;
    if (pieceText.length > this.pieceLimit) this.checkPieceSize(pieceText.length);
    if (this.target === TO_ELEMENT) {
      const elements = this.elements!;
      elements.push(this.parse(pieceText, this.elementPath(), { entryIndex: elements.length }));
      this.state = ARR_AFTER_VALUE;
    } else if (this.target === TO_MEMBER) {
      this.membersBytes += pieceText.length + this.rawKey.length + 1;
      this.members.push({ raw: this.rawKey, key: this.currentKey, text: pieceText });
      this.state = OBJ_AFTER_VALUE;
    } else {
      this.value = this.parse(pieceText, "$");
      this.state = DONE;
    }
  }

  /** Refuses the captured value when it (so far) exceeds its size limit. */
  private checkPieceSize(inChunk: number): void {
    if (this.partsLength + inChunk > this.pieceLimit) {
      throw new FhirLimitError(
        this.pieceTarget(),
        undefined,
        "maxResourceBytes",
        this.limits.maxResourceBytes,
        undefined,
        this.at(),
      );
    }
  }

  private parse(text: string, path: string, where: { entryIndex?: number } = {}): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new FhirValidationError(path, undefined, "not well-formed JSON", undefined, where);
    }
  }

  private tooLong(): never {
    const inKey = this.state === OBJ_KEY_STRING;
    throw new FhirLimitError(
      inKey ? "$" : this.pieceTarget(),
      undefined,
      "maxStringLength",
      this.limits.maxStringLength,
      undefined,
      inKey ? {} : this.at(),
    );
  }

  private malformed(): never {
    const inElement = this.state === PIECE && this.target === TO_ELEMENT;
    throw new FhirValidationError(
      inElement ? this.elementPath() : "$",
      undefined,
      "not well-formed JSON",
      undefined,
      inElement ? this.at() : {},
    );
  }

  /** The path of the value being captured (a member's name only when it is a plain name). */
  private pieceTarget(): string {
    if (this.target === TO_ELEMENT) return this.elementPath();
    if (this.target === TO_MEMBER && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(this.currentKey))
      return `$.${this.currentKey}`;
    return "$";
  }

  private elementPath(): string {
    const index = this.elements?.length ?? 0;
    return this.topArray ? `$[${index}]` : `$.entry[${index}]`;
  }

  /** The entry being captured, for errors. */
  private at(): { entryIndex?: number } {
    return this.state === PIECE && this.target === TO_ELEMENT ? { entryIndex: this.elements!.length } : {};
  }
}

/** Splits and parses JSON text held whole (see JsonSplitter). */
export function splitJson(text: string, limits: IngestLimits): unknown {
  const splitter = new JsonSplitter(limits);
  splitter.write(text);
  return splitter.end();
}
