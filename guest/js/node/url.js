// node:url: the WHATWG URL classes (the web platform's), file URL helpers, and the legacy
// `url.parse`/`url.format`/`url.resolve` API, which still appears in much published code.
import { codedError, invalidArgType, validateString } from "dynisolate:node-errors";

export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;

export function fileURLToPath(url) {
  const parsed = typeof url === "string" ? new URL(url) : url;
  if (!(parsed instanceof URL)) throw invalidArgType("path", "of type string or an instance of URL", url);
  if (parsed.protocol !== "file:") throw codedError(TypeError, "ERR_INVALID_URL_SCHEME", "The URL must be of scheme file");
  if (parsed.hostname !== "") {
    throw codedError(TypeError, "ERR_INVALID_FILE_URL_HOST", 'File URL host must be "localhost" or empty on linux');
  }
  if (/%2f/i.test(parsed.pathname)) {
    throw codedError(TypeError, "ERR_INVALID_FILE_URL_PATH", "File URL path must not include encoded / characters");
  }
  return decodeURIComponent(parsed.pathname);
}

export function pathToFileURL(path) {
  validateString(path, "path");
  const absolute = path.startsWith("/") ? path : `/${path}`;
  const url = new URL("file://");
  url.pathname = absolute.replace(/%/g, "%25").replace(/\\/g, "%5C").replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/\t/g, "%09");
  return url;
}

export function domainToASCII(domain) {
  try {
    return new URL(`http://${domain}`).hostname;
  } catch {
    return "";
  }
}

export function domainToUnicode(domain) {
  return domainToASCII(domain);
}

export function urlToHttpOptions(url) {
  return {
    protocol: url.protocol,
    hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    hash: url.hash,
    search: url.search,
    pathname: url.pathname,
    path: `${url.pathname || ""}${url.search || ""}`,
    href: url.href,
    ...(url.port !== "" ? { port: Number(url.port) } : {}),
    ...(url.username || url.password
      ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` }
      : {}),
  };
}

// The legacy API's result object.
export function Url() {
  this.protocol = null;
  this.slashes = null;
  this.auth = null;
  this.host = null;
  this.port = null;
  this.hostname = null;
  this.hash = null;
  this.search = null;
  this.query = null;
  this.pathname = null;
  this.path = null;
  this.href = null;
}

const SLASHED_PROTOCOLS = new Set(["http:", "https:", "ftp:", "gopher:", "file:", "ws:", "wss:"]);

function parseQuery(search) {
  const query = Object.create(null);
  for (const [key, value] of new URLSearchParams(search)) {
    if (key in query) query[key] = [].concat(query[key], value);
    else query[key] = value;
  }
  return query;
}

/** The legacy parser: lenient, keeps relative URLs, never throws on odd input. */
export function parse(input, parseQueryString = false, slashesDenoteHost = false) {
  if (input instanceof Url) return input;
  validateString(input, "url");
  const url = new Url();
  let rest = input.trim();
  const hashAt = rest.indexOf("#");
  if (hashAt !== -1) {
    url.hash = rest.slice(hashAt);
    rest = rest.slice(0, hashAt);
  }
  const searchAt = rest.indexOf("?");
  if (searchAt !== -1) {
    url.search = rest.slice(searchAt);
    url.query = rest.slice(searchAt + 1);
    rest = rest.slice(0, searchAt);
  } else if (parseQueryString) {
    url.search = "";
    url.query = {};
  }
  if (parseQueryString && typeof url.query === "string") url.query = parseQuery(url.query);
  const protocol = /^([a-z0-9.+-]+:)/i.exec(rest);
  if (protocol) {
    url.protocol = protocol[1].toLowerCase();
    rest = rest.slice(protocol[1].length);
  }
  const slashes = rest.startsWith("//");
  if (slashes && (slashesDenoteHost || url.protocol === null || SLASHED_PROTOCOLS.has(url.protocol))) {
    url.slashes = true;
    rest = rest.slice(2);
    let end = rest.search(/[/\\]/);
    if (end === -1) end = rest.length;
    let host = rest.slice(0, end);
    rest = rest.slice(end);
    const at = host.lastIndexOf("@");
    if (at !== -1) {
      url.auth = decodeURIComponent(host.slice(0, at));
      host = host.slice(at + 1);
    }
    const port = /:(\d*)$/.exec(host);
    if (port) {
      if (port[1] !== "") url.port = port[1];
      host = host.slice(0, host.length - port[0].length);
    }
    url.hostname = host.toLowerCase().replace(/^\[|\]$/g, "");
    url.host = url.port ? `${host.toLowerCase()}:${url.port}` : host.toLowerCase();
    if (rest === "" && SLASHED_PROTOCOLS.has(url.protocol)) rest = "/";
  }
  url.pathname = rest === "" ? null : rest;
  url.path = url.pathname === null && url.search === null ? null : `${url.pathname ?? ""}${url.search ?? ""}`;
  url.href = format(url);
  return url;
}

/** The legacy formatter: a `Url`-shaped object (or a WHATWG URL, or a string) to a URL string. */
export function format(object, options) {
  if (typeof object === "string") object = parse(object);
  else if (object instanceof URL) {
    const { auth = true, fragment = true, search = true } = options ?? {};
    const url = new URL(object.href);
    if (!auth) url.username = url.password = "";
    if (!fragment) url.hash = "";
    if (!search) url.search = "";
    return url.href;
  } else if (object === null || typeof object !== "object") {
    throw invalidArgType("urlObject", "one of type object or string", object);
  }
  let protocol = object.protocol ?? "";
  if (protocol && !protocol.endsWith(":")) protocol += ":";
  let host = "";
  if (object.host) host = object.host;
  else if (object.hostname) {
    host = object.hostname.includes(":") ? `[${object.hostname}]` : object.hostname;
    if (object.port) host += `:${object.port}`;
  }
  const auth = object.auth ? `${encodeURIComponent(object.auth).replace(/%3A/i, ":")}@` : "";
  let pathname = object.pathname ?? "";
  let search = object.search ?? "";
  if (!search && object.query && typeof object.query === "object") {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(object.query)) {
      for (const item of [].concat(value)) params.append(key, String(item));
    }
    const text = params.toString();
    search = text ? `?${text}` : "";
  } else if (search && !search.startsWith("?")) search = `?${search}`;
  let hash = object.hash ?? "";
  if (hash && !hash.startsWith("#")) hash = `#${hash}`;
  const slashes = object.slashes || SLASHED_PROTOCOLS.has(protocol);
  let prefix = "";
  if (slashes && (host || protocol === "file:")) {
    prefix = `//${auth}${host}`;
    if (pathname && !pathname.startsWith("/")) pathname = `/${pathname}`;
  } else if (host) prefix = `${auth}${host}`;
  pathname = pathname.replace(/[?#]/g, encodeURIComponent);
  search = search.replace(/#/g, "%23");
  return `${protocol}${prefix}${pathname}${search}${hash}`;
}

/** The legacy resolver: `to` against `from`, as a browser resolves a link. */
export function resolve(from, to) {
  const base = new URL(from, "resolve://");
  const resolved = new URL(to, base);
  if (resolved.protocol === "resolve:") {
    const { pathname, search, hash } = resolved;
    return from.startsWith("/") ? `${pathname}${search}${hash}` : `${pathname.slice(1)}${search}${hash}`;
  }
  return resolved.href;
}

export default {
  URL,
  URLSearchParams,
  Url,
  parse,
  format,
  resolve,
  fileURLToPath,
  pathToFileURL,
  domainToASCII,
  domainToUnicode,
  urlToHttpOptions,
};
