import type { Resource } from "@medplum/fhirtypes";
import type { TwinDataReader } from "../../pipeline/reader";
import type { Admitted } from "./admission";
import type { FhirRequestParams } from "./authorization";
import { EXTENSION, searchsetOf, stampLogIndex } from "./bundle";
import { matches, type ParsedSearch } from "./search";

/** A read found nothing the consent allows (absent and hidden alike). */
export class ResourceNotFound extends Error {
  constructor() {
    super("no such resource, or not one the consent allows");
  }
}

/**
 * The answer of an admitted search (a searchset page of the allowed matches) or read (`id`: the one resource, its
 * proofs in `meta.extension`), from the records of the allowed categories only.
 * @throws ResourceNotFound for a read that matches nothing allowed; the reader's errors otherwise.
 */
export async function answerOf(
  data: TwinDataReader,
  a: Admitted,
  search: ParsedSearch,
  request: FhirRequestParams & { readonly base: string; readonly id?: string },
): Promise<Resource> {
  const twinId = a.query.twinId;
  const { anchor } = data.version(twinId);
  const proven = await data.records(twinId, a.allowed);
  const found = proven.filter((p) => (p.record.category & a.allowed) !== 0 && matches(search, p.record));
  const bundle = searchsetOf({
    base: request.base,
    path: request.path,
    search: request.search,
    categories: a.allowed,
    state: anchor,
    matches: found,
    offset: request.id === undefined ? search.offset : 0,
    count: search.count,
  });
  if (request.id === undefined) return bundle;
  const entry = bundle.entry?.[0];
  if (entry?.resource === undefined) throw new ResourceNotFound();
  const extension = [...(bundle.meta?.extension ?? []), ...(entry.extension ?? [])];
  return { ...entry.resource, meta: { ...entry.resource.meta, extension } } as Resource;
}

/** Adds the access-log entry of the request to a Bundle's or a resource's meta. */
export function stamp(body: Resource, logIndex: number): Resource {
  if (body.resourceType === "Bundle") return stampLogIndex(body, logIndex);
  const extension = [...(body.meta?.extension ?? []), { url: EXTENSION.logIndex, valueUnsignedInt: logIndex }];
  return { ...body, meta: { ...body.meta, extension } } as Resource;
}
