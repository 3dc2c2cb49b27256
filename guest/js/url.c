/* The URL parser web.js's URL class stands on (included by shim.c): ada, the WHATWG URL parser
 * Node.js and workerd use, compiled into the guest from the `ada-url` sdist by build.py, through
 * its C API. A parsed URL crosses to JavaScript as one array, its record: the href (always ASCII,
 * so ada's byte offsets are string indices) and the offsets of its components, from which web.js
 * slices each component. */

#include "ada_c.h"

IMPORT("dynisolate", "domain_to_ascii") int64_t host_domain_to_ascii(const char *domain, int32_t len);

/* A record's length: the href, then ada_url_components' offsets in their order (protocol_end,
 * username_end, host_start, host_end, port, pathname_start, search_start, hash_start), -1 for an
 * absent port, query or fragment. web.js reads it in the same order. */
#define URL_RECORD_LENGTH 9

/* What urlSet changes, by web.js's numbering. */
enum {
    URL_SET_HREF,
    URL_SET_PROTOCOL,
    URL_SET_USERNAME,
    URL_SET_PASSWORD,
    URL_SET_HOST,
    URL_SET_HOSTNAME,
    URL_SET_PORT,
    URL_SET_PATHNAME,
    URL_SET_SEARCH,
    URL_SET_HASH,
};

/* Whether a label of `host` starts with "xn--", in any case. */
static bool has_punycode_label(const char *host, size_t len) {
    for (size_t at = 0; at + 4 <= len; at++) {
        if ((at == 0 || host[at - 1] == '.') && (host[at] | 0x20) == 'x' && (host[at + 1] | 0x20) == 'n' &&
            host[at + 2] == '-' && host[at + 3] == '-')
            return true;
    }
    return false;
}

/* Whether IDNA takes the host of a parsed `url`. ada 4.0.0 does not check what an "xn--" label
 * decodes to, so a host with one goes to the host's UTS #46 (rust/js/domain.rs), which refuses
 * "xn--" alone and punycode that decodes to what IDNA disallows, as the URL Standard asks. */
static bool host_passes_idna(ada_url url) {
    ada_string host = ada_get_hostname(url);
    if (!has_punycode_label(host.data, host.length) || host.length > INT32_MAX) return true;
    int64_t packed = host_domain_to_ascii(host.data, (int32_t)host.length);
    release((void *)(uintptr_t)((uint64_t)packed >> 32));
    return (uint32_t)packed != 0;
}

static JSValue url_offset(JSContext *ctx, uint32_t offset) {
    return offset == ada_url_omitted ? JS_NewInt32(ctx, -1) : JS_NewUint32(ctx, offset);
}

/* The record of a parsed `url`, or null when it did not parse; frees `url`. */
static JSValue url_record(JSContext *ctx, ada_url url) {
    JSValue result = JS_NULL;
    if (ada_is_valid(url) && host_passes_idna(url)) {
        const ada_url_components *parts = ada_get_components(url);
        ada_string href = ada_get_href(url);
        JSValue record[URL_RECORD_LENGTH] = {
            JS_NewStringLen(ctx, href.data, href.length),
            url_offset(ctx, parts->protocol_end),
            url_offset(ctx, parts->username_end),
            url_offset(ctx, parts->host_start),
            url_offset(ctx, parts->host_end),
            url_offset(ctx, parts->port),
            url_offset(ctx, parts->pathname_start),
            url_offset(ctx, parts->search_start),
            url_offset(ctx, parts->hash_start),
        };
        result = JS_IsException(record[0]) ? JS_EXCEPTION : JS_NewArrayFrom(ctx, URL_RECORD_LENGTH, record);
    }
    ada_free(url);
    return result;
}

/* The UTF-8 of the string `value` as a USVString (a lone surrogate as U+FFFD), for
 * JS_FreeCString; ASCII is not copied. */
static const char *usv_utf8(JSContext *ctx, JSValueConst value, size_t *len) {
    JSValue usv = js_string_toWellFormed(ctx, value, 0, NULL);
    if (JS_IsException(usv)) return NULL;
    const char *utf8 = JS_ToCStringLen(ctx, len, usv);
    JS_FreeValue(ctx, usv);
    return utf8;
}

/* urlParse(input, base) -> the record of the URL the string `input` parses to against the URL
 * string `base` (or against none when `base` is undefined), or null when either does not parse. */
static JSValue js_url_parse(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    size_t len, base_len;
    const char *input = usv_utf8(ctx, argv[0], &len);
    if (!input) return JS_EXCEPTION;
    ada_url url;
    if (JS_IsUndefined(argv[1])) {
        url = ada_parse(input, len);
    } else {
        const char *base = usv_utf8(ctx, argv[1], &base_len);
        if (!base) {
            JS_FreeCString(ctx, input);
            return JS_EXCEPTION;
        }
        url = ada_parse_with_base(input, len, base, base_len);
        JS_FreeCString(ctx, base);
    }
    JS_FreeCString(ctx, input);
    return url_record(ctx, url);
}

/* urlSet(href, what, value) -> the record after the URL_SET_ setter `what` ran with the string
 * `value` on the URL `href` (one urlParse made), or null when the result is no URL: `value` does not parse for
 * URL_SET_HREF, or a host setter left a host IDNA refuses. The setters leave the URL as it was
 * when the value does not fit, as the standard's do; web.js keeps it on null too. */
static JSValue js_url_set(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    int32_t what;
    if (JS_ToInt32(ctx, &what, argv[1])) return JS_EXCEPTION;
    size_t href_len, len;
    const char *href = JS_ToCStringLen(ctx, &href_len, argv[0]);
    if (!href) return JS_EXCEPTION;
    const char *value = usv_utf8(ctx, argv[2], &len);
    if (!value) {
        JS_FreeCString(ctx, href);
        return JS_EXCEPTION;
    }
    ada_url url = ada_parse(href, href_len);
    JS_FreeCString(ctx, href);
    bool valid = ada_is_valid(url);
    if (valid) {
        switch (what) {
        case URL_SET_HREF: valid = ada_set_href(url, value, len); break;
        case URL_SET_PROTOCOL: ada_set_protocol(url, value, len); break;
        case URL_SET_USERNAME: ada_set_username(url, value, len); break;
        case URL_SET_PASSWORD: ada_set_password(url, value, len); break;
        case URL_SET_HOST: ada_set_host(url, value, len); break;
        case URL_SET_HOSTNAME: ada_set_hostname(url, value, len); break;
        case URL_SET_PORT:
            if (len == 0) ada_clear_port(url);
            else ada_set_port(url, value, len);
            break;
        case URL_SET_PATHNAME: ada_set_pathname(url, value, len); break;
        case URL_SET_SEARCH: ada_set_search(url, value, len); break;
        case URL_SET_HASH: ada_set_hash(url, value, len); break;
        default: valid = false;
        }
    }
    JS_FreeCString(ctx, value);
    if (!valid) {
        ada_free(url);
        return JS_NULL;
    }
    return url_record(ctx, url);
}

/* urlOrigin(href) -> the serialised origin of the URL `href` ("null" for an opaque one). web.js
 * serialises special URLs' origins itself; this serves `blob:` URLs, whose origin is their
 * path's. */
static JSValue js_url_origin(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    size_t len;
    const char *href = JS_ToCStringLen(ctx, &len, argv[0]);
    if (!href) return JS_EXCEPTION;
    ada_url url = ada_parse(href, len);
    JS_FreeCString(ctx, href);
    JSValue result = JS_NewString(ctx, "null");
    if (ada_is_valid(url)) {
        ada_owned_string origin = ada_get_origin(url);
        JS_FreeValue(ctx, result);
        result = JS_NewStringLen(ctx, origin.data, origin.length);
        ada_free_owned_string(origin);
    }
    ada_free(url);
    return result;
}

/* The natives above, on `hooks`. */
static void url_natives(JSContext *ctx, JSValueConst hooks) {
    JS_SetPropertyStr(ctx, hooks, "urlParse", JS_NewCFunction(ctx, js_url_parse, "urlParse", 2));
    JS_SetPropertyStr(ctx, hooks, "urlSet", JS_NewCFunction(ctx, js_url_set, "urlSet", 3));
    JS_SetPropertyStr(ctx, hooks, "urlOrigin", JS_NewCFunction(ctx, js_url_origin, "urlOrigin", 1));
}
