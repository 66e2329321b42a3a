// Attribute injection: a noderole's run input is the deep merge of its layers, later layers winning.
// Objects merge key by key; arrays and scalars are replaced whole (as Crowbar's deep_merge does).

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

export const ATTRIBUTE_LAYERS = ['role_defaults', 'deployment_role', 'parents_wall', 'system', 'user'] as const
export type AttributeLayer = (typeof ATTRIBUTE_LAYERS)[number]
export type AttributeLayers = Record<AttributeLayer, JsonObject>

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Sets an own key, even `__proto__` (a key JSON may carry), without touching the prototype. */
function setKey(out: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
}

export function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const current = Object.hasOwn(out, key) ? out[key] : undefined
    setKey(out, key, isJsonObject(current) && isJsonObject(value) ? deepMerge(current, value) : value)
  }
  return out
}

/** The run input: role defaults, then deployment-role data, parents' walls, system data, user data. */
export function mergeLayers(layers: AttributeLayers): JsonObject {
  return ATTRIBUTE_LAYERS.reduce<JsonObject>((acc, layer) => deepMerge(acc, layers[layer]), {})
}

/** Parents' walls, merged in the order given (lower cohort first, so nearer parents win). */
export function mergeWalls(walls: readonly JsonObject[]): JsonObject {
  return walls.reduce<JsonObject>((acc, wall) => deepMerge(acc, wall), {})
}

/** A JSON value with object keys sorted: equal values give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isJsonObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v
  )
}

/** Two JSON object columns hold the same value (unparseable text reads as empty, as everywhere). */
export function sameJson(a: string, b: string): boolean {
  return a === b || canonicalJson(parseJsonObject(a)) === canonicalJson(parseJsonObject(b))
}

/**
 * JSON merge patch (RFC 7396): objects merge key by key, a null removes the key, anything else
 * replaces what was there (arrays whole).
 */
export function mergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...target }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete out[key]
      continue
    }
    const current = Object.hasOwn(out, key) ? out[key] : undefined
    setKey(out, key, isJsonObject(value) ? mergePatch(isJsonObject(current) ? current : {}, value) : value)
  }
  return out
}

/** Parses a JSON object column; anything else (corrupt or not an object) reads as empty. */
export function parseJsonObject(text: string): JsonObject {
  try {
    const value: unknown = JSON.parse(text)
    return isJsonObject(value) ? value : {}
  } catch {
    return {}
  }
}

export function parseStringArray(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text)
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
  } catch {
    return []
  }
}
