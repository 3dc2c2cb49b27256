// node:path, POSIX flavour (Workers have no Windows paths; `path.win32` is not offered). The
// working directory is "/", as on Cloudflare.
import { validateString } from "dynisolate:node-errors";

export const sep = "/";
export const delimiter = ":";

// Resolves "." and ".." in a path's segments; `absolute` drops ".." above the root.
function normalizeSegments(path, absolute) {
  const out = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else {
      out.push(segment);
    }
  }
  return out.join("/");
}

function cwd() {
  return "/";
}

export function resolve(...paths) {
  let resolved = "";
  let absolute = false;
  for (let i = paths.length - 1; i >= -1 && !absolute; i--) {
    const path = i >= 0 ? paths[i] : cwd();
    validateString(path, `paths[${i}]`);
    if (path === "") continue;
    resolved = `${path}/${resolved}`;
    absolute = path.startsWith("/");
  }
  const normalized = normalizeSegments(resolved, absolute);
  return absolute ? `/${normalized}` : normalized || ".";
}

export function normalize(path) {
  validateString(path, "path");
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const trailing = path.endsWith("/");
  let normalized = normalizeSegments(path, absolute);
  if (normalized === "" && !absolute) normalized = ".";
  if (normalized !== "" && trailing) normalized += "/";
  return absolute ? `/${normalized}` : normalized;
}

export function isAbsolute(path) {
  validateString(path, "path");
  return path.startsWith("/");
}

export function join(...paths) {
  const parts = [];
  for (let i = 0; i < paths.length; i++) {
    validateString(paths[i], `paths[${i}]`);
    if (paths[i] !== "") parts.push(paths[i]);
  }
  return parts.length === 0 ? "." : normalize(parts.join("/"));
}

export function relative(from, to) {
  validateString(from, "from");
  validateString(to, "to");
  if (from === to) return "";
  const fromParts = resolve(from).split("/").filter(Boolean);
  const toParts = resolve(to).split("/").filter(Boolean);
  let common = 0;
  while (common < fromParts.length && common < toParts.length && fromParts[common] === toParts[common]) common++;
  return [...Array(fromParts.length - common).fill(".."), ...toParts.slice(common)].join("/");
}

export function dirname(path) {
  validateString(path, "path");
  if (path === "") return ".";
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--;
  const slash = path.lastIndexOf("/", end - 1);
  if (slash === -1) return ".";
  if (slash === 0) return "/";
  let start = slash;
  while (start > 1 && path[start - 1] === "/") start--;
  return path.slice(0, start);
}

export function basename(path, suffix) {
  validateString(path, "path");
  if (suffix !== undefined) validateString(suffix, "suffix");
  let end = path.length;
  while (end > 0 && path[end - 1] === "/") end--;
  const base = path.slice(path.lastIndexOf("/", end - 1) + 1, end);
  if (suffix !== undefined && suffix !== base && base.endsWith(suffix)) return base.slice(0, base.length - suffix.length);
  return base;
}

export function extname(path) {
  validateString(path, "path");
  const base = basename(path);
  const dot = base.lastIndexOf(".");
  if (dot <= 0 || (dot === 1 && base === "..")) return "";
  return base.slice(dot);
}

export function parse(path) {
  validateString(path, "path");
  const root = path.startsWith("/") ? "/" : "";
  if (path === "" || path === root) return { root, dir: root, base: "", ext: "", name: "" };
  const base = basename(path);
  const ext = extname(path);
  let dir = dirname(path);
  if (dir === "." && !path.startsWith("./") && !path.includes("/")) dir = "";
  return { root, dir, base, ext, name: ext ? base.slice(0, -ext.length) : base };
}

export function format(parts) {
  if (parts === null || typeof parts !== "object") {
    throw new TypeError(`The "pathObject" argument must be of type object. Received ${parts}`);
  }
  const dir = parts.dir || parts.root || "";
  const base = parts.base || `${parts.name || ""}${parts.ext ? (parts.ext.startsWith(".") ? "" : ".") + parts.ext : ""}`;
  if (!dir) return base;
  return dir === parts.root ? `${dir}${base}` : `${dir}/${base}`;
}

export function toNamespacedPath(path) {
  return path;
}

export function matchesGlob() {
  throw new Error("path.matchesGlob is not available in Workers");
}

const path = {
  sep,
  delimiter,
  resolve,
  normalize,
  isAbsolute,
  join,
  relative,
  dirname,
  basename,
  extname,
  parse,
  format,
  toNamespacedPath,
  matchesGlob,
};
path.posix = path;
export const posix = path;
export default path;
