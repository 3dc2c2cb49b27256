//! crypto.subtle's host half (`rust/js/subtle/`) called directly, as the `subtle` import would:
//! published test vectors (FIPS 180, RFC 4231, 5869, 6070, 3394, 8032, 7748, NIST SP 800-38A and
//! the GCM specification's cases), vectors from WPT's WebCryptoAPI tests and keys made with
//! OpenSSL, round trips through every key format, and each error the guest relies on.

use _core::error::Error;
use _core::js::subtle::{Reply, run};

/// Hex digits, whitespace ignored (so long vectors can wrap).
fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
}

fn call(fields: &[&[u8]]) -> Reply {
    run(fields, &mut || Ok(())).expect("no deadline to miss")
}

/// The result fields of a request that must succeed.
fn ok(fields: &[&[u8]]) -> Vec<Vec<u8>> {
    match call(fields) {
        Reply::Ok(result) => result,
        Reply::Failed { name, message } => {
            panic!("{} failed: {name}: {message}", String::from_utf8_lossy(fields[0]))
        }
    }
}

/// The only result field of a request that must succeed.
fn one(fields: &[&[u8]]) -> Vec<u8> {
    let mut result = ok(fields);
    assert_eq!(result.len(), 1, "{} replied {} fields", String::from_utf8_lossy(fields[0]), result.len());
    result.remove(0)
}

/// The DOMException of a request that must fail.
fn failure(fields: &[&[u8]]) -> (&'static str, String) {
    match call(fields) {
        Reply::Failed { name, message } => (name, message),
        Reply::Ok(_) => panic!("{} succeeded", String::from_utf8_lossy(fields[0])),
    }
}

fn assert_fails(fields: &[&[u8]], expected: &str) {
    let (name, message) = failure(fields);
    assert_eq!(name, expected, "{message}");
    assert!(message.ends_with('.') && message.len() > 20, "not a sentence: {message:?}");
}

fn verified(fields: &[&[u8]]) -> bool {
    match one(fields).as_slice() {
        [1] => true,
        [0] => false,
        other => panic!("not a boolean: {other:?}"),
    }
}

// ---- Fixtures ----

const RSA_PKCS8: &str = "
    30820275020100300d06092a864886f70d01010105000482025f3082025b020100028181009aac7c4529542106c0c986
    676804b2231a665114b052ed70a813bb3a01652543d37929d1ff46fec0ac4b4c5b2af1f5da90f4021018d7e8c4eca5a4
    01192af763d4ed10cd75fa14d3a44291814a92aa033ce0bf4731c615fabd2c5f3f1c306ee27afbbf53a7495e0db1687e
    1c316f32437a95e2fc40227107419aada04092362f020301000102818039a49e8b87e37a8b71bda901509aaf68b5a5fc
    01a1d4c5f87e2b1c5379c1a029aede30dfba2b5335ab0044ec950ca77b551a1acab4f7822021b179758f539bee5c5268
    7abf04d8d0a10ee6e3ec33f5bcff2fbf3f5ace4e55509e9667c7495273c99c8b615025111fbd58c08ac3474547f3b70f
    ca05c7b6f72939c611b51a5a81024100c79b7fac3e71a3dcbb412e0bdfd5165c65ba8ed2def119ae827331de917257d2
    7989c3ff4932ccc1fc6ce985f759104ee2e6fa34fda4dbccc22874bc79245b19024100c65f2f3872fcff49a704d3b4f1
    be4fa3445bc97e5d410f0aeb713e14ae1dd4ae9c66711484edb7e6ae6fe7bb2a628412039c6cd574c894a74076ac7c30
    490c8702407a797af920c77197ba7ddfd7015c2a003f9b1c8f5ea3e8f21eb0b7e4acb1d01920e1db1504c0daca1c2c67
    8cff9bf259b4f7ac865f2b8c82328fc830ecd3d5e1024034aa1a883b06ede3a8e2c02ddeac2eca62a097aae3a91d0c42
    1b8b66c41f0952de14d85aa13bd741f7f79fa6f206bb9768bc03acdbd75097e2a65efe8d77274b02404142b653e14e8c
    997703d6aedc2ca210bf0e540102afea9051fb8ed5a47975b03437d558a6c223360d7ef8bca562fb6ccd4cf09b4e012c
    422d2b58986e1cbfe3";
const RSA_SPKI: &str = "
    30819f300d06092a864886f70d010101050003818d00308189028181009aac7c4529542106c0c986676804b2231a6651
    14b052ed70a813bb3a01652543d37929d1ff46fec0ac4b4c5b2af1f5da90f4021018d7e8c4eca5a401192af763d4ed10
    cd75fa14d3a44291814a92aa033ce0bf4731c615fabd2c5f3f1c306ee27afbbf53a7495e0db1687e1c316f32437a95e2
    fc40227107419aada04092362f0203010001";
const RSA_PKCS1_SHA256_HELLO: &str = "
    7be12d59bc3a31b8b9e7f15e528fab2e6d180a28e80d99b06ded17615fb2dfe5d8169747ce8d5f78fce69be81f969811
    74a0808198a1816c5d2bec1ba7f6ed7650178fe58cd96531745b809127e539ed1b438f3972ca401f15a0f8f9cbed120f
    e7646f4498c3a1e4f0b6041959f02dafa10152652d646edc06d65ba25af1112b";
const RSA_PSS_SHA384_SALT20_HELLO: &str = "
    67c326e2fa31dcd582ef05e43370e1c1d4878440f6c9f318ff472404d6db0ce64e1d9774409b02ca8205de3ea8a8cef3
    3390dae5322f05a7a19d65001d9bb77d6798234b5cccc25d9d8ee35a552aff5a6f672377f1d16ef02335aef68e21a5e9
    99113687f32dff64a39ea6d60c45655eccc7bbc5edd68b49590bbda780b5cd3f";
const RSA_OAEP_SHA256_LABEL_HELLO: &str = "
    338b480e9960c479e8b467ad3118599a1957729e8bede01493f458d9291e36d8fa3ab34d82081071f792dffb1e35a0b1
    3d01d9640ab27f122b94bbf6ba69dc93e3d9a41420b41f7b6a2a99fa3c1f80fe0f6f13e4dd1851c0bad376ee2a929d7c
    580aaf7d5041290e0091c50aa49738a362f606376104b71475c1542ebeb387fe";
const ECDSA_MESSAGE: &str = "
    5f4dba4f320c0ce876725afce5fbd25bf83e5a7125a08cafe73c3ebac421779df9d55d180c3ae9942645e1d82fee8c9d
    294b3cb1a08a9931201b3c0e81fc47cacf8315a2af66324113c3b66230c34608c4f4593634ce02b267362277f0a840ca
    74bc3d1a6236952c5ed7aaf8a8fecbddfa7584e6978cea5d2a5b9fb7f1b48c8b0be58a305202754d8376107374793cf0
    26aaee5300727d836cd71e71b345ddb2e44446ffc5b901635413890d910ea380984a90191031323f16dbcc9d6be168b8
    4885384ca03e12600ac1c248028af3726cc93463882ea8c02aab";
const P256_PKCS8: &str = "
    308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420e6eecf9e626cca8e18079b92
    c5ee269e54ca128eafd48947ff51aba00ac0e5d6a144034200040a051e386f67c4a6e1e5cbee7d37745b588ebe720f75
    5916286f9629697a391711d86aeac96708d23a2623d8c6edbb54d9a43f64066931800f351d9e75ebee1e";
const P256_SPKI: &str = "
    3059301306072a8648ce3d020106082a8648ce3d030107034200040a051e386f67c4a6e1e5cbee7d37745b588ebe720f
    755916286f9629697a391711d86aeac96708d23a2623d8c6edbb54d9a43f64066931800f351d9e75ebee1e";
const P256_SHA512_SIGNATURE: &str = "
    4ac9afad456ba08ecb29e105499206285d8281239cabbea10c0aea7b0705706139b70f345ed74fffafde42eafdb43ea1
    070bf92576b90d66435465bd49846ece";
const P521_PKCS8: &str = "
    3081ee020100301006072a8648ce3d020106052b810400230481d63081d3020101044201533e618f98ead1b513ec8878
    c8820d377a36d8f03f2ba046c931825a3d358730c0b26033dbb7f7e4a3d4434a035e24b707f9124766176e1af0b85df2
    2eaaba9c25a18189038186000400a6deecfb489117f1e41cc4a064073d8673086e51db25086e8db764d4eff60aad6358
    fdcf967ac68459275e2a804f8eeeb7e4c4284b1451c0a5ea76fe7007ac054701c5eddaf9a89e7c4fdcc924c737d8f585
    da9703a954c23be7c14aafa66654b256770a938e7f26e700c603931c7bd0bdb5d0632c7d1eab466f09d976c24a323e1b
    7c";
const P521_SPKI: &str = "
    30819b301006072a8648ce3d020106052b81040023038186000400a6deecfb489117f1e41cc4a064073d8673086e51db
    25086e8db764d4eff60aad6358fdcf967ac68459275e2a804f8eeeb7e4c4284b1451c0a5ea76fe7007ac054701c5edda
    f9a89e7c4fdcc924c737d8f585da9703a954c23be7c14aafa66654b256770a938e7f26e700c603931c7bd0bdb5d0632c
    7d1eab466f09d976c24a323e1b7c";
const P521_SHA1_SIGNATURE: &str = "
    01781a17a60e43126960fd396e1210916c2115ca4428d968389c4b46c1553674ce937b8e21700ce60932ae0f575ca187
    dd597720db839eb1f20c7e3394787559dcd500207e570df5c7e4ad9fc0a5f72065e9ce1c9e3d12ca5e6dd9f44fe12856
    1b75f4226c4fadf23d83536cc669ea4098e373b6cb919c8b5cfc0505a67d96b276a46a3d";
const P521_SHA512_SIGNATURE: &str = "
    00b2caaf6798519a9d36dbfafe786b2fba1cc2acb99593c177b36e3a1ceeb702275ae23cfcca0aad78f6b6dee6b4718b
    95d0d1a715aa3378470e50b516c18e0f330501f0071e6a32867fa70f695cd39c4e87e142b9e4134d38740bd6fee354a5
    75167e13524e94832637910fe11e53a85fb21b91adb81bb1779c4e2b8bc87c717dc35084";
const P256_PEER_POINT: &str = "
    04b5180087d1d41439ed0be3f699fc6746d9cf12cb883c7e778b7a95fd75bae56c2c8cfa5778604679417e0a77c0f45a
    717980181e177f7de763c5d3bee24b6f5e";
const P256_SHARED: &str = "54a0c9a9ca9baf8a24b716aa72c6b6d149d2731cbdd29613212d3babbab4aad7";
// ---- The protocol ----

#[test]
fn replies_encode_as_the_guest_reads_them() {
    let reply = Reply::Ok(vec![b"ab".to_vec(), Vec::new()]);
    assert_eq!(reply.encode(), [0, 2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0]);
    let reply = Reply::Failed { name: "DataError", message: "Bad.".into() };
    let mut expected = vec![1, 9, 0, 0, 0];
    expected.extend_from_slice(b"DataError");
    expected.extend_from_slice(&[4, 0, 0, 0]);
    expected.extend_from_slice(b"Bad.");
    assert_eq!(reply.encode(), expected);
}

#[test]
fn unknown_operations_are_not_supported() {
    assert_fails(&[b"rot13", b"data"], "NotSupportedError");
    assert_fails(&[], "OperationError");
}

#[test]
fn malformed_requests_name_the_operation() {
    let (name, message) = failure(&[b"hmac.sign", b"SHA-256", b"key"]);
    assert_eq!(name, "OperationError");
    assert!(message.contains("\"hmac.sign\""), "{message}");
    let (name, message) = failure(&[b"pbkdf2", b"SHA-256", b"pw", b"salt", b"1e3", b"32"]);
    assert_eq!(name, "OperationError");
    assert!(message.contains("\"pbkdf2\"") && message.contains("1e3"), "{message}");
    assert_fails(&[b"hkdf", b"SHA-256", b"", b"", b"", b"-1"], "OperationError");
    assert_fails(&[b"hkdf", b"SHA-256", b"", b"", b"", b"99999999999"], "OperationError");
    assert_fails(&[b"rsa.import", b"spki"], "OperationError");
    assert_fails(&[b"ec.export", b"P-256", b"jwk", b"secret", b"", b""], "OperationError");
}

#[test]
fn a_failing_check_ends_the_call() {
    let result = run(&[b"digest", b"SHA-256", b"abc"], &mut || Err(Error::CpuLimit { cpu_ms: 5 }));
    assert!(matches!(result, Err(Error::CpuLimit { cpu_ms: 5 })), "{result:?}");
    // Long data is hashed in chunks, with the deadline checked between them.
    let data = vec![7u8; 3 << 20];
    let mut checks = 0;
    let result = run(&[b"hmac.sign", b"SHA-256", b"key", &data], &mut || {
        checks += 1;
        if checks > 2 { Err(Error::Cancelled) } else { Ok(()) }
    });
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    let mut checks = 0;
    let result = run(&[b"digest", b"SHA-1", &data], &mut || {
        checks += 1;
        Ok(())
    });
    assert!(matches!(result, Ok(Reply::Ok(_))));
    assert!(checks >= 4, "{checks} checks for 3 MiB");
}

// ---- Digests, HMAC, HKDF, PBKDF2 ----

#[test]
fn digests_match_fips_180() {
    let cases: [(&[u8], &str); 4] = [
        (b"SHA-1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (b"SHA-256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            b"SHA-384",
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed
             8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            b"SHA-512",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ];
    for (hash, expected) in cases {
        assert_eq!(one(&[b"digest", hash, b"abc"]), hex(expected));
    }
}

#[test]
fn unknown_hashes_are_not_supported() {
    for op in [&b"digest"[..], b"hmac.sign"] {
        let fields: &[&[u8]] = if op == b"digest" { &[op, b"MD5", b"abc"] } else { &[op, b"sha-256", b"key", b"abc"] };
        assert_fails(fields, "NotSupportedError");
    }
    assert_fails(&[b"ecdsa.sign", b"P-256", b"SHA-224", &[1; 32], b""], "NotSupportedError");
}

#[test]
fn hmac_matches_rfc_4231_and_verifies_in_constant_time() {
    let data = b"what do ya want for nothing?";
    let mac = one(&[b"hmac.sign", b"SHA-256", b"Jefe", data]);
    assert_eq!(mac, hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
    let mac512 = one(&[b"hmac.sign", b"SHA-512", b"Jefe", data]);
    assert_eq!(
        mac512,
        hex("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737")
    );
    assert!(verified(&[b"hmac.verify", b"SHA-256", b"Jefe", data, &mac]));
    let mut tampered = mac.clone();
    tampered[31] ^= 1;
    assert!(!verified(&[b"hmac.verify", b"SHA-256", b"Jefe", data, &tampered]));
    assert!(!verified(&[b"hmac.verify", b"SHA-256", b"Jefe", data, &mac[..31]]));
    assert!(!verified(&[b"hmac.verify", b"SHA-256", b"Jefe", data, b""]));
}

#[test]
fn hkdf_matches_rfc_5869_case_1() {
    let ikm = [0x0b; 22];
    let salt = hex("000102030405060708090a0b0c");
    let info = hex("f0f1f2f3f4f5f6f7f8f9");
    let okm = one(&[b"hkdf", b"SHA-256", &ikm, &salt, &info, b"42"]);
    assert_eq!(okm, hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"));
    assert_eq!(one(&[b"hkdf", b"SHA-1", &ikm, b"", b"", b"0"]), b"");
    assert_eq!(one(&[b"hkdf", b"SHA-256", &ikm, b"", b"", b"8160"]).len(), 255 * 32);
    assert_fails(&[b"hkdf", b"SHA-256", &ikm, b"", b"", b"8161"], "OperationError");
}

#[test]
fn pbkdf2_matches_rfc_6070_and_caps_iterations_and_work() {
    let cases = [
        ("1", "0c60c80f961f0e71f3a9b524af6012062fe037a6"),
        ("2", "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"),
        ("4096", "4b007901b765489abead49d926f721d065a429c1"),
    ];
    for (iterations, expected) in cases {
        let bytes = one(&[b"pbkdf2", b"SHA-1", b"password", b"salt", iterations.as_bytes(), b"20"]);
        assert_eq!(bytes, hex(expected), "{iterations} iterations");
    }
    assert_fails(&[b"pbkdf2", b"SHA-256", b"password", b"salt", b"0", b"32"], "OperationError");
    assert_eq!(one(&[b"pbkdf2", b"SHA-256", b"password", b"salt", b"100000", b"0"]), b"");
    let (name, message) = failure(&[b"pbkdf2", b"SHA-256", b"password", b"salt", b"100001", b"32"]);
    assert_eq!(
        (name, message.as_str()),
        ("NotSupportedError", "PBKDF2 iteration counts above 100000 are not supported.")
    );
    // Ten SHA-256 blocks at the iteration cap are allowed; an eleventh is more work than one call.
    assert_eq!(one(&[b"pbkdf2", b"SHA-256", b"password", b"salt", b"100000", b"320"]).len(), 320);
    let (name, message) = failure(&[b"pbkdf2", b"SHA-256", b"password", b"salt", b"100000", b"321"]);
    assert_eq!(name, "NotSupportedError");
    assert!(message.contains("more work than one call may ask for"), "{message}");
}

// ---- AES ----

const SP800_38A_KEY: &str = "2b7e151628aed2a6abf7158809cf4f3c";
const SP800_38A_PLAINTEXT: &str = "
    6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
    30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";

fn aes(direction: &str, mode: &str, key: &[u8], data: &[u8], p1: &[u8], p2: &[u8], p3: &[u8]) -> Reply {
    let op = format!("aes.{direction}");
    call(&[op.as_bytes(), mode.as_bytes(), key, data, p1, p2, p3])
}

fn aes_ok(direction: &str, mode: &str, key: &[u8], data: &[u8], p1: &[u8], p2: &[u8], p3: &[u8]) -> Vec<u8> {
    match aes(direction, mode, key, data, p1, p2, p3) {
        Reply::Ok(mut fields) if fields.len() == 1 => fields.remove(0),
        other => panic!("{mode} {direction}: {other:?}"),
    }
}

fn aes_failure(direction: &str, mode: &str, key: &[u8], data: &[u8], p1: &[u8], p2: &[u8], p3: &[u8]) -> &'static str {
    match aes(direction, mode, key, data, p1, p2, p3) {
        Reply::Failed { name, .. } => name,
        Reply::Ok(_) => panic!("{mode} {direction} succeeded"),
    }
}

#[test]
fn aes_cbc_matches_sp_800_38a_and_checks_padding() {
    let (key, iv) = (hex(SP800_38A_KEY), hex("000102030405060708090a0b0c0d0e0f"));
    let plaintext = hex(SP800_38A_PLAINTEXT);
    let ciphertext = aes_ok("encrypt", "AES-CBC", &key, &plaintext, &iv, b"", b"");
    let expected = hex("7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2
         73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7");
    assert_eq!(&ciphertext[..64], expected.as_slice());
    assert_eq!(ciphertext.len(), 80, "a whole block of PKCS#7 padding follows");
    assert_eq!(aes_ok("decrypt", "AES-CBC", &key, &ciphertext, &iv, b"", b""), plaintext);
    // The last block decrypts to something that is not PKCS#7 padding.
    assert_eq!(aes_failure("decrypt", "AES-CBC", &key, &expected, &iv, b"", b""), "OperationError");
    assert_eq!(aes_failure("decrypt", "AES-CBC", &key, &ciphertext[..70], &iv, b"", b""), "OperationError");
    assert_eq!(aes_failure("decrypt", "AES-CBC", &key, b"", &iv, b"", b""), "OperationError");
    assert_eq!(aes_failure("encrypt", "AES-CBC", &key, b"x", &iv[..15], b"", b""), "OperationError");
}

#[test]
fn aes_keys_must_be_128_192_or_256_bits() {
    for mode in ["AES-CBC", "AES-CTR", "AES-GCM", "AES-KW"] {
        let name = aes_failure("encrypt", mode, &[0; 20], &[0; 16], &[0; 16], b"128", b"128");
        assert_eq!(name, "DataError", "{mode}");
    }
    assert_eq!(aes_failure("encrypt", "AES-XTS", &[0; 16], &[0; 16], &[0; 16], b"", b""), "NotSupportedError");
}

#[test]
fn aes_round_trips_with_every_key_size() {
    let data: Vec<u8> = (0..100u8).collect();
    for key_len in [16, 24, 32] {
        let key = vec![0x42; key_len];
        let modes = [
            ("AES-CBC", vec![1; 16], &b""[..], &b""[..]),
            ("AES-CTR", vec![2; 16], b"64", b""),
            ("AES-GCM", vec![3; 12], b"header", b"128"),
        ];
        for (mode, p1, p2, p3) in modes {
            let sealed = aes_ok("encrypt", mode, &key, &data, &p1, p2, p3);
            assert_ne!(sealed[..data.len()], data[..], "{mode}");
            assert_eq!(aes_ok("decrypt", mode, &key, &sealed, &p1, p2, p3), data, "{mode} with {key_len} bytes");
        }
        let wrapped = aes_ok("encrypt", "AES-KW", &key, &data[..32], b"", b"", b"");
        assert_eq!(aes_ok("decrypt", "AES-KW", &key, &wrapped, b"", b"", b""), &data[..32]);
    }
}

#[test]
fn aes_ctr_matches_sp_800_38a_and_wraps_only_the_counter_bits() {
    let key = hex(SP800_38A_KEY);
    let counter = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    let expected = hex("874d6191b620e3261bef6864990db6ce 9806f66b7970fdff8617187bb9fffdff
         5ae4df3edbd5d35e5b4f09020db03eab 1e031dda2fbe03d1792170a0f3009cee");
    let plaintext = hex(SP800_38A_PLAINTEXT);
    for bits in ["128", "64", "16"] {
        let ciphertext = aes_ok("encrypt", "AES-CTR", &key, &plaintext, &counter, bits.as_bytes(), b"");
        assert_eq!(ciphertext, expected, "{bits}-bit counter");
    }
    // With an 8-bit counter, 0xff wraps to 0x00 and the bits above stay: the second block uses
    // ...fe00, not NIST's ...ff00.
    let wrapped = aes_ok("encrypt", "AES-CTR", &key, &plaintext[..32], &counter, b"8", b"");
    assert_eq!(&wrapped[..16], &expected[..16]);
    let restarted = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfe00");
    let second = aes_ok("encrypt", "AES-CTR", &key, &plaintext[16..32], &restarted, b"128", b"");
    assert_eq!(&wrapped[16..], second.as_slice());
    // A 1-bit counter has two values: two blocks are fine, a third would repeat one.
    assert_eq!(aes_ok("encrypt", "AES-CTR", &key, &plaintext[..32], &counter, b"1", b"").len(), 32);
    assert_eq!(aes_failure("encrypt", "AES-CTR", &key, &plaintext[..33], &counter, b"1", b""), "OperationError");
    for bad in ["0", "129"] {
        assert_eq!(aes_failure("encrypt", "AES-CTR", &key, b"x", &counter, bad.as_bytes(), b""), "OperationError");
    }
    assert_eq!(aes_failure("encrypt", "AES-CTR", &key, b"x", &counter[..8], b"64", b""), "OperationError");
}

#[test]
fn aes_gcm_matches_the_specifications_cases() {
    let key = hex("feffe9928665731c6d6a8f9467308308");
    let plaintext = hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
    let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    let cases = [
        (
            "cafebabefacedbaddecaf888",
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
             21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
            "5bc94fbc3221a5db94fae95ae7121a47",
        ),
        (
            "cafebabefacedbad",
            "61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c7423
             73806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598",
            "3612d2e79e3b0785561be14aaca2fccb",
        ),
        (
            "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728
             c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b",
            "8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca7
             01e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5",
            "619cc5aefffe0bfa462af43c1699d050",
        ),
    ];
    for (iv, ciphertext, tag) in cases {
        let iv = hex(iv);
        let mut expected = hex(ciphertext);
        expected.extend(hex(tag));
        assert_eq!(aes_ok("encrypt", "AES-GCM", &key, &plaintext, &iv, &aad, b"128"), expected, "{} byte iv", iv.len());
        assert_eq!(aes_ok("decrypt", "AES-GCM", &key, &expected, &iv, &aad, b"128"), plaintext);
        // A short tag is the full tag's leftmost bytes.
        let short = aes_ok("encrypt", "AES-GCM", &key, &plaintext, &iv, &aad, b"96");
        assert_eq!(short, expected[..expected.len() - 4]);
        assert_eq!(aes_ok("decrypt", "AES-GCM", &key, &short, &iv, &aad, b"96"), plaintext);
    }
}

#[test]
fn aes_gcm_rejects_tampering_and_bad_parameters() {
    let key = [9; 32];
    let iv = [1; 12];
    let sealed = aes_ok("encrypt", "AES-GCM", &key, b"secret", &iv, b"aad", b"128");
    let mut tampered = sealed.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let (name, message) = failure(&[b"aes.decrypt", b"AES-GCM", &key, &tampered, &iv, b"aad", b"128"]);
    assert_eq!((name, message.as_str()), ("OperationError", "The AES-GCM authentication tag does not match."));
    assert_eq!(aes_failure("decrypt", "AES-GCM", &key, &sealed, &iv, b"other", b"128"), "OperationError");
    assert_eq!(aes_failure("decrypt", "AES-GCM", &key, &sealed[..15], &iv, b"aad", b"128"), "OperationError");
    assert_eq!(aes_failure("encrypt", "AES-GCM", &key, b"x", &iv, b"", b"100"), "OperationError");
    assert_eq!(aes_failure("encrypt", "AES-GCM", &key, b"x", b"", b"", b"128"), "OperationError");
    // Every tag length WebCrypto names, and IVs of the lengths WPT uses.
    for bits in ["32", "64", "96", "104", "112", "120", "128"] {
        for iv_len in [1, 12, 16, 32, 100] {
            let iv = vec![7; iv_len];
            let sealed = aes_ok("encrypt", "AES-GCM", &key, b"", &iv, b"", bits.as_bytes());
            assert_eq!(sealed.len() * 8, bits.parse::<usize>().unwrap());
            assert_eq!(aes_ok("decrypt", "AES-GCM", &key, &sealed, &iv, b"", bits.as_bytes()), b"");
        }
    }
}

#[test]
fn aes_kw_matches_rfc_3394() {
    let cases = [
        (
            "000102030405060708090a0b0c0d0e0f",
            "00112233445566778899aabbccddeeff",
            "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5",
        ),
        (
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f",
            "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21",
        ),
    ];
    for (kek, key, wrapped) in cases {
        let (kek, key, wrapped) = (hex(kek), hex(key), hex(wrapped));
        assert_eq!(aes_ok("encrypt", "AES-KW", &kek, &key, b"", b"", b""), wrapped);
        assert_eq!(aes_ok("decrypt", "AES-KW", &kek, &wrapped, b"", b"", b""), key);
        let mut tampered = wrapped.clone();
        tampered[0] ^= 1;
        assert_eq!(aes_failure("decrypt", "AES-KW", &kek, &tampered, b"", b"", b""), "OperationError");
    }
    let kek = [1; 16];
    for bad in [&[0u8; 8][..], &[0; 20], &[]] {
        assert_eq!(aes_failure("encrypt", "AES-KW", &kek, bad, b"", b"", b""), "OperationError");
    }
    assert_eq!(aes_failure("decrypt", "AES-KW", &kek, &[0; 16], b"", b"", b""), "OperationError");
}

// ---- RSA ----

/// `rsa.import`'s reply: (type, pkcs1 der, modulus bits, public exponent).
fn rsa_import(fields: &[&[u8]]) -> (Vec<u8>, Vec<u8>, String, Vec<u8>) {
    let mut request: Vec<&[u8]> = vec![b"rsa.import"];
    request.extend_from_slice(fields);
    let [kind, der, bits, exponent] = <[Vec<u8>; 4]>::try_from(ok(&request)).expect("four fields");
    (kind, der, String::from_utf8(bits).unwrap(), exponent)
}

fn rsa_export(format: &[u8], kind: &[u8], der: &[u8]) -> Vec<Vec<u8>> {
    ok(&[b"rsa.export", format, kind, der])
}

/// A 1024-bit key made by OpenSSL, with a signature and ciphertexts of "hello" it made.
#[test]
fn rsa_interoperates_with_openssl() {
    let (kind, private, bits, exponent) = rsa_import(&[b"pkcs8", &hex(RSA_PKCS8)]);
    assert_eq!((kind.as_slice(), bits.as_str(), exponent.as_slice()), (&b"private"[..], "1024", &[1, 0, 1][..]));
    let (kind, public, ..) = rsa_import(&[b"spki", &hex(RSA_SPKI)]);
    assert_eq!(kind, b"public");
    // RSASSA-PKCS1-v1_5 is deterministic.
    let signature = one(&[b"rsa.sign", b"RSASSA-PKCS1-v1_5", b"SHA-256", &private, b"hello", b"0"]);
    assert_eq!(signature, hex(RSA_PKCS1_SHA256_HELLO));
    assert!(verified(&[b"rsa.verify", b"RSASSA-PKCS1-v1_5", b"SHA-256", &public, b"hello", &signature, b"0"]));
    assert!(!verified(&[b"rsa.verify", b"RSASSA-PKCS1-v1_5", b"SHA-384", &public, b"hello", &signature, b"0"]));
    let pss = hex(RSA_PSS_SHA384_SALT20_HELLO);
    assert!(verified(&[b"rsa.verify", b"RSA-PSS", b"SHA-384", &public, b"hello", &pss, b"20"]));
    assert!(!verified(&[b"rsa.verify", b"RSA-PSS", b"SHA-384", &public, b"hello", &pss, b"32"]));
    assert!(!verified(&[b"rsa.verify", b"RSA-PSS", b"SHA-384", &public, b"hellO", &pss, b"20"]));
    let ciphertext = hex(RSA_OAEP_SHA256_LABEL_HELLO);
    assert_eq!(one(&[b"rsa.oaep.decrypt", b"SHA-256", &private, &ciphertext, b"label"]), b"hello");
    assert_fails(&[b"rsa.oaep.decrypt", b"SHA-256", &private, &ciphertext, b"other"], "OperationError");
    assert_fails(&[b"rsa.oaep.decrypt", b"SHA-1", &private, &ciphertext, b"label"], "OperationError");
    // Export gives back OpenSSL's bytes.
    assert_eq!(rsa_export(b"pkcs8", b"private", &private), [hex(RSA_PKCS8)]);
    assert_eq!(rsa_export(b"spki", b"public", &public), [hex(RSA_SPKI)]);
}

#[test]
fn rsa_keys_round_trip_through_every_format() {
    let [private, public] = <[Vec<u8>; 2]>::try_from(ok(&[b"rsa.generate", b"1024", &[1, 0, 1]])).unwrap();
    let (_, again, bits, exponent) = rsa_import(&[b"pkcs8", &rsa_export(b"pkcs8", b"private", &private)[0]]);
    assert_eq!((again.as_slice(), bits.as_str(), exponent.as_slice()), (private.as_slice(), "1024", &[1, 0, 1][..]));
    let (_, again, ..) = rsa_import(&[b"spki", &rsa_export(b"spki", b"public", &public)[0]]);
    assert_eq!(again, public);
    let jwk = rsa_export(b"jwk", b"private", &private);
    assert_eq!(jwk.len(), 8);
    assert!(jwk.iter().all(|n| n[0] != 0), "JWK numbers are minimal");
    let numbers: Vec<&[u8]> = jwk.iter().map(Vec::as_slice).collect();
    let mut request: Vec<&[u8]> = vec![b"jwk-private"];
    request.extend(&numbers);
    let (kind, again, ..) = rsa_import(&request);
    assert_eq!((kind.as_slice(), again), (&b"private"[..], private.clone()));
    let public_jwk = rsa_export(b"jwk", b"public", &public);
    assert_eq!(public_jwk, jwk[..2]);
    let (kind, again, ..) = rsa_import(&[b"jwk-public", &public_jwk[0], &public_jwk[1]]);
    assert_eq!((kind.as_slice(), again), (&b"public"[..], public.clone()));

    assert_fails(&[b"rsa.export", b"pkcs8", b"public", &public], "InvalidAccessError");
    assert_fails(&[b"rsa.export", b"spki", b"private", &private], "InvalidAccessError");
    assert_fails(&[b"rsa.export", b"raw", b"public", &public], "NotSupportedError");
    // An inconsistent JWK: dp altered.
    let mut altered = numbers.clone();
    let dp = [jwk[5].as_slice(), &[1]].concat();
    altered[5] = &dp;
    let mut request: Vec<&[u8]> = vec![b"rsa.import", b"jwk-private"];
    request.extend(&altered);
    assert_fails(&request, "DataError");
    let mut request: Vec<&[u8]> = vec![b"rsa.import", b"jwk-private"];
    request.extend(&numbers);
    let q_plus_two = {
        let mut q = jwk[4].clone();
        *q.last_mut().unwrap() ^= 2;
        q
    };
    request[6] = &q_plus_two;
    assert_fails(&request, "DataError");
}

#[test]
fn rsa_signs_verifies_and_encrypts_with_a_generated_key() {
    let [private, public] = <[Vec<u8>; 2]>::try_from(ok(&[b"rsa.generate", b"1024", &[3]])).unwrap();
    assert_eq!(rsa_import(&[b"spki", &rsa_export(b"spki", b"public", &public)[0]]).3, [3]);
    for hash in [&b"SHA-1"[..], b"SHA-256", b"SHA-384", b"SHA-512"] {
        for (scheme, salt) in [(&b"RSASSA-PKCS1-v1_5"[..], &b"0"[..]), (b"RSA-PSS", b"0"), (b"RSA-PSS", b"32")] {
            let signature = one(&[b"rsa.sign", scheme, hash, &private, b"data", salt]);
            assert_eq!(signature.len(), 128);
            assert!(verified(&[b"rsa.verify", scheme, hash, &public, b"data", &signature, salt]));
            assert!(!verified(&[b"rsa.verify", scheme, hash, &public, b"date", &signature, salt]));
            assert!(!verified(&[b"rsa.verify", scheme, hash, &public, b"data", &signature[1..], salt]));
        }
        if hash != b"SHA-512" {
            let ciphertext = one(&[b"rsa.oaep.encrypt", hash, &public, b"message", b""]);
            assert_eq!(one(&[b"rsa.oaep.decrypt", hash, &private, &ciphertext, b""]), b"message");
        }
    }
    // 1024 bits - 1 rounds to 128 bytes; SHA-512 leaves 128 - 64 - 2 = 62 for the salt.
    assert_eq!(one(&[b"rsa.sign", b"RSA-PSS", b"SHA-512", &private, b"x", b"62"]).len(), 128);
    assert_fails(&[b"rsa.sign", b"RSA-PSS", b"SHA-512", &private, b"x", b"63"], "OperationError");
    assert_fails(&[b"rsa.sign", b"RSA-PSS", b"SHA-512", &private, b"x", b"4294967295"], "OperationError");
    assert!(!verified(&[b"rsa.verify", b"RSA-PSS", b"SHA-512", &public, b"x", &[0; 128], b"63"]));
    // OAEP with SHA-512 takes at most 128 - 2 * 64 - 2 = -2 bytes: nothing fits.
    assert_fails(&[b"rsa.oaep.encrypt", b"SHA-512", &public, b"", b""], "OperationError");
    assert_fails(&[b"rsa.oaep.encrypt", b"SHA-256", &public, &[0; 63], b""], "OperationError");
    assert_fails(&[b"rsa.oaep.decrypt", b"SHA-256", &private, &[0; 128], b""], "OperationError");
    assert_fails(&[b"rsa.sign", b"RSA-OAEP", b"SHA-256", &private, b"x", b"0"], "NotSupportedError");
}

#[test]
fn rsa_generation_takes_only_webcrypto_parameters() {
    assert_fails(&[b"rsa.generate", b"1020", &[1, 0, 1]], "OperationError");
    assert_fails(&[b"rsa.generate", b"256", &[1, 0, 1]], "OperationError");
    assert_fails(&[b"rsa.generate", b"16384", &[1, 0, 1]], "OperationError");
    assert_fails(&[b"rsa.generate", b"1024", &[5]], "OperationError");
    let [private, _] = <[Vec<u8>; 2]>::try_from(ok(&[b"rsa.generate", b"512", &[0, 1, 0, 1]])).unwrap();
    let (_, _, bits, exponent) = rsa_import(&[b"pkcs8", &rsa_export(b"pkcs8", b"private", &private)[0]]);
    assert_eq!((bits.as_str(), exponent.as_slice()), ("512", &[1, 0, 1][..]));
}

#[test]
fn rsa_import_rejects_other_algorithms_and_bad_der() {
    assert_fails(&[b"rsa.import", b"pkcs8", &hex(P256_PKCS8)], "DataError");
    assert_fails(&[b"rsa.import", b"spki", &hex(P256_SPKI)], "DataError");
    let mut truncated = hex(RSA_SPKI);
    truncated.pop();
    assert_fails(&[b"rsa.import", b"spki", &truncated], "DataError");
    assert_fails(&[b"rsa.import", b"jwk-public", &[0xff; 128], &[2]], "DataError");
    assert_fails(&[b"rsa.import", b"raw", b"x"], "NotSupportedError");
    assert_fails(&[b"rsa.sign", b"RSASSA-PKCS1-v1_5", b"SHA-256", b"not der", b"x", b"0"], "DataError");
}

// ---- ECDSA, ECDH ----

const CURVES: [&[u8]; 3] = [b"P-256", b"P-384", b"P-521"];
const HASHES: [&[u8]; 4] = [b"SHA-1", b"SHA-256", b"SHA-384", b"SHA-512"];

/// `ec.import`'s reply: (type, d, point).
fn ec_import(curve: &[u8], fields: &[&[u8]]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut request: Vec<&[u8]> = vec![b"ec.import", curve];
    request.extend_from_slice(fields);
    let [kind, d, point] = <[Vec<u8>; 3]>::try_from(ok(&request)).expect("three fields");
    (kind, d, point)
}

/// WPT's keys (made by browsers) and their signatures of WPT's message; SHA-1 with P-521 needs
/// the short hash padded, SHA-512 with P-256 cut.
#[test]
fn ecdsa_verifies_wpt_signatures() {
    let message = hex(ECDSA_MESSAGE);
    let cases = [
        (&b"P-256"[..], P256_PKCS8, P256_SPKI, &b"SHA-512"[..], P256_SHA512_SIGNATURE),
        (b"P-521", P521_PKCS8, P521_SPKI, b"SHA-1", P521_SHA1_SIGNATURE),
        (b"P-521", P521_PKCS8, P521_SPKI, b"SHA-512", P521_SHA512_SIGNATURE),
    ];
    for (curve, pkcs8, spki, hash, signature) in cases {
        let (kind, d, point) = ec_import(curve, &[b"pkcs8", &hex(pkcs8)]);
        assert_eq!(kind, b"private");
        let (_, none, public) = ec_import(curve, &[b"spki", &hex(spki)]);
        assert_eq!((none.len(), &public), (0, &point));
        let signature = hex(signature);
        assert!(verified(&[b"ecdsa.verify", curve, hash, &point, &message, &signature]));
        assert!(!verified(&[b"ecdsa.verify", curve, hash, &point, &message[1..], &signature]));
        let ours = one(&[b"ecdsa.sign", curve, hash, &d, &message]);
        assert!(verified(&[b"ecdsa.verify", curve, hash, &point, &message, &ours]));
        // Export gives back the browsers' bytes.
        assert_eq!(one(&[b"ec.export", curve, b"pkcs8", b"private", &d, &point]), hex(pkcs8));
        assert_eq!(one(&[b"ec.export", curve, b"spki", b"public", b"", &point]), hex(spki));
    }
}

#[test]
fn ecdsa_signs_with_every_curve_and_hash() {
    for curve in CURVES {
        let [d, point] = <[Vec<u8>; 2]>::try_from(ok(&[b"ec.generate", curve])).unwrap();
        let field = d.len();
        assert_eq!(point.len(), 1 + 2 * field);
        for hash in HASHES {
            let signature = one(&[b"ecdsa.sign", curve, hash, &d, b"data"]);
            assert_eq!(signature.len(), 2 * field);
            assert!(verified(&[b"ecdsa.verify", curve, hash, &point, b"data", &signature]));
            assert!(!verified(&[b"ecdsa.verify", curve, hash, &point, b"dat", &signature]));
            assert!(!verified(&[b"ecdsa.verify", curve, hash, &point, b"data", &signature[1..]]));
            assert!(!verified(&[b"ecdsa.verify", curve, hash, &point, b"data", &vec![0; 2 * field]]));
        }
    }
    assert_fails(&[b"ecdsa.sign", b"P-256", b"SHA-256", &[1; 31], b"x"], "DataError");
    assert_fails(&[b"ecdsa.sign", b"P-256", b"SHA-256", &[0; 32], b"x"], "DataError");
    assert_fails(&[b"ecdsa.sign", b"P-192", b"SHA-256", &[1; 24], b"x"], "NotSupportedError");
}

#[test]
fn ec_keys_round_trip_through_every_format() {
    for curve in CURVES {
        let [d, point] = <[Vec<u8>; 2]>::try_from(ok(&[b"ec.generate", curve])).unwrap();
        let export = |format: &[u8], kind: &[u8]| ok(&[b"ec.export", curve, format, kind, &d, &point]);
        let [raw] = <[Vec<u8>; 1]>::try_from(export(b"raw", b"public")).unwrap();
        assert_eq!(raw, point);
        assert_eq!(ec_import(curve, &[b"raw", &raw]), (b"public".to_vec(), Vec::new(), point.clone()));
        let spki = export(b"spki", b"public");
        assert_eq!(ec_import(curve, &[b"spki", &spki[0]]), (b"public".to_vec(), Vec::new(), point.clone()));
        let pkcs8 = export(b"pkcs8", b"private");
        assert_eq!(ec_import(curve, &[b"pkcs8", &pkcs8[0]]), (b"private".to_vec(), d.clone(), point.clone()));
        let jwk = export(b"jwk", b"private");
        let field = d.len();
        assert_eq!(jwk, [point[1..1 + field].to_vec(), point[1 + field..].to_vec(), d.clone()]);
        assert_eq!(export(b"jwk", b"public"), jwk[..2]);
        assert_eq!(
            ec_import(curve, &[b"jwk-public", &jwk[0], &jwk[1]]),
            (b"public".to_vec(), Vec::new(), point.clone())
        );
        let imported = ec_import(curve, &[b"jwk-private", &jwk[0], &jwk[1], &jwk[2]]);
        assert_eq!(imported, (b"private".to_vec(), d.clone(), point.clone()));
        // A compressed point comes back uncompressed.
        let mut compressed = vec![2 + (point.last().unwrap() & 1)];
        compressed.extend_from_slice(&point[1..1 + field]);
        assert_eq!(ec_import(curve, &[b"raw", &compressed]).2, point);

        let fails = |format: &[u8], kind: &[u8], expected: &str| {
            assert_fails(&[b"ec.export", curve, format, kind, &d, &point], expected)
        };
        fails(b"raw", b"private", "InvalidAccessError");
        fails(b"spki", b"private", "InvalidAccessError");
        fails(b"pkcs8", b"public", "InvalidAccessError");
        fails(b"pem", b"public", "NotSupportedError");
    }
}

#[test]
fn ec_import_rejects_bad_keys() {
    let (_, d, point) = ec_import(b"P-256", &[b"pkcs8", &hex(P256_PKCS8)]);
    let (x, y) = (&point[1..33], &point[33..]);
    let mut off_curve = point.clone();
    off_curve[64] ^= 1;
    let (name, message) = failure(&[b"ec.import", b"P-256", b"raw", &off_curve]);
    assert_eq!(name, "DataError");
    assert!(message.contains("P-256"), "{message}");
    assert_fails(&[b"ec.import", b"P-256", b"jwk-public", x, &off_curve[33..]], "DataError");
    assert_fails(&[b"ec.import", b"P-256", b"raw", &point[..64]], "DataError");
    assert_fails(&[b"ec.import", b"P-256", b"raw", &[0]], "DataError");
    assert_fails(&[b"ec.import", b"P-384", b"raw", &point], "DataError");
    assert_fails(&[b"ec.import", b"P-256", b"jwk-public", &x[1..], y], "DataError");
    assert_fails(&[b"ec.import", b"P-256", b"jwk-private", x, y, &[0; 32]], "DataError");
    assert_fails(&[b"ec.import", b"P-256", b"jwk-private", x, y, &[0xff; 32]], "DataError");
    let mut other = d.clone();
    other[31] ^= 1;
    let (name, message) = failure(&[b"ec.import", b"P-256", b"jwk-private", x, y, &other]);
    assert_eq!((name, message.as_str()), ("DataError", "The JWK's \"d\" does not match its \"x\" and \"y\"."));
    // A key of another curve, or of another algorithm.
    assert_fails(&[b"ec.import", b"P-384", b"pkcs8", &hex(P256_PKCS8)], "DataError");
    assert_fails(&[b"ec.import", b"P-384", b"spki", &hex(P256_SPKI)], "DataError");
    assert_fails(&[b"ec.import", b"P-256", b"pkcs8", &hex(RSA_PKCS8)], "DataError");
    assert_fails(&[b"ec.import", b"P-256", b"spki", &hex(RSA_SPKI)], "DataError");
    let mut truncated = hex(P521_PKCS8);
    truncated.pop();
    assert_fails(&[b"ec.import", b"P-521", b"pkcs8", &truncated], "DataError");
    // The public key inside a PKCS#8 key must be the private key's.
    let mut mismatched = hex(P256_PKCS8);
    let at = mismatched.len() - 1;
    mismatched[at] ^= 1;
    assert_fails(&[b"ec.import", b"P-256", b"pkcs8", &mismatched], "DataError");
}

#[test]
fn ecdh_agrees_with_openssl_and_with_itself() {
    let (_, d, _) = ec_import(b"P-256", &[b"pkcs8", &hex(P256_PKCS8)]);
    assert_eq!(one(&[b"ecdh.derive", b"P-256", &d, &hex(P256_PEER_POINT)]), hex(P256_SHARED));
    for curve in CURVES {
        let [d1, p1] = <[Vec<u8>; 2]>::try_from(ok(&[b"ec.generate", curve])).unwrap();
        let [d2, p2] = <[Vec<u8>; 2]>::try_from(ok(&[b"ec.generate", curve])).unwrap();
        let shared = one(&[b"ecdh.derive", curve, &d1, &p2]);
        assert_eq!(shared.len(), d1.len());
        assert_eq!(shared, one(&[b"ecdh.derive", curve, &d2, &p1]));
    }
    let mut off_curve = hex(P256_PEER_POINT);
    off_curve[10] ^= 1;
    assert_fails(&[b"ecdh.derive", b"P-256", &d, &off_curve], "DataError");
}

// ---- Ed25519, X25519 ----

/// `okp.import`'s reply: (type, private, public).
fn okp_import(curve: &[u8], fields: &[&[u8]]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut request: Vec<&[u8]> = vec![b"okp.import", curve];
    request.extend_from_slice(fields);
    let [kind, private, public] = <[Vec<u8>; 3]>::try_from(ok(&request)).expect("three fields");
    (kind, private, public)
}

/// WPT's Ed25519 key in PKCS#8 (v1, no public key) and SPKI, as browsers export them.
const ED25519_PKCS8: &str =
    "302e020100300506032b657004220420f3c8f4c48df878146e8cd3bf6df4e50e389ba7074e15c2352dcd5d308d4ca81f";
const ED25519_SPKI: &str = "302a300506032b6570032100d8e18963d809d487d9549accaec6742e7eeba24d8a0d3b14b7e3caea06893dcc";

#[test]
fn ed25519_matches_rfc_8032_test_1() {
    let private = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    let public = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    let expected =
        hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b
         d25bf5f0595bbe24655141438e7a100b");
    assert_eq!(okp_import(b"Ed25519", &[b"jwk-private", &public, &private]).2, public);
    assert_eq!(one(&[b"ed25519.sign", &private, b""]), expected);
    assert!(verified(&[b"ed25519.verify", &public, b"", &expected]));
    assert!(!verified(&[b"ed25519.verify", &public, b"x", &expected]));
    assert!(!verified(&[b"ed25519.verify", &public, b"", &expected[..63]]));
}

/// Cases from WPT's eddsa_small_order_points: browsers verify strictly.
#[test]
fn ed25519_verifies_strictly() {
    let cases = [
        // R of small order.
        (
            "8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a
             0000000000000000000000000000000000000000000000000000000000000000",
            false,
        ),
        // Mixed-order A and R: valid.
        (
            "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
            "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
            "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f
             87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009",
            true,
        ),
        // S not below the group order.
        (
            "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
            "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
            "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e
             547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514",
            false,
        ),
        // A of small order.
        (
            "53656e64203130302055534420746f20416c696365",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc
             a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
            false,
        ),
    ];
    for (message, key, signature, expected) in cases {
        let key = okp_import(b"Ed25519", &[b"raw", &hex(key)]).2;
        assert_eq!(verified(&[b"ed25519.verify", &key, &hex(message), &hex(signature)]), expected, "{message}");
    }
    // A public key that is no point at all (y = 2 has no x) simply fails to verify.
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    assert!(!verified(&[b"ed25519.verify", &not_a_point, b"", &[0; 64]]));
}

#[test]
fn x25519_matches_rfc_7748() {
    let alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    let alice_public = hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    let bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    let bob_public = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    let shared = hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    let (kind, private, public) = okp_import(b"X25519", &[b"jwk-private", &alice_public, &alice]);
    assert_eq!((kind.as_slice(), &private, &public), (&b"private"[..], &alice, &alice_public));
    assert_eq!(one(&[b"x25519.derive", &alice, &bob_public]), shared);
    assert_eq!(one(&[b"x25519.derive", &bob, &alice_public]), shared);
    // A small-order public key gives an all-zero secret.
    assert_fails(&[b"x25519.derive", &alice, &[0; 32]], "OperationError");
    assert_fails(&[b"x25519.derive", &alice, &[1; 31]], "DataError");
}

#[test]
fn okp_keys_round_trip_through_every_format() {
    for curve in [&b"Ed25519"[..], b"X25519"] {
        let [private, public] = <[Vec<u8>; 2]>::try_from(ok(&[b"okp.generate", curve])).unwrap();
        assert_eq!((private.len(), public.len()), (32, 32));
        let export = |format: &[u8], kind: &[u8]| ok(&[b"okp.export", curve, format, kind, &private, &public]);
        let as_public = (b"public".to_vec(), Vec::new(), public.clone());
        let as_private = (b"private".to_vec(), private.clone(), public.clone());
        assert_eq!(export(b"raw", b"public"), std::slice::from_ref(&public));
        assert_eq!(okp_import(curve, &[b"raw", &public]), as_public);
        let spki = export(b"spki", b"public");
        assert_eq!(okp_import(curve, &[b"spki", &spki[0]]), as_public);
        let pkcs8 = export(b"pkcs8", b"private");
        assert_eq!(okp_import(curve, &[b"pkcs8", &pkcs8[0]]), as_private);
        assert_eq!(export(b"jwk", b"public"), std::slice::from_ref(&public));
        assert_eq!(export(b"jwk", b"private"), [public.clone(), private.clone()]);
        assert_eq!(okp_import(curve, &[b"jwk-public", &public]), as_public);
        assert_eq!(okp_import(curve, &[b"jwk-private", &public, &private]), as_private);
        for (format, kind) in [(&b"raw"[..], &b"private"[..]), (b"spki", b"private"), (b"pkcs8", b"public")] {
            assert_fails(&[b"okp.export", curve, format, kind, &private, &public], "InvalidAccessError");
        }
    }
    // Browsers' encodings come back byte for byte.
    let (_, private, public) = okp_import(b"Ed25519", &[b"pkcs8", &hex(ED25519_PKCS8)]);
    assert_eq!(okp_import(b"Ed25519", &[b"spki", &hex(ED25519_SPKI)]).2, public);
    assert_eq!(one(&[b"okp.export", b"Ed25519", b"pkcs8", b"private", &private, &public]), hex(ED25519_PKCS8));
    assert_eq!(one(&[b"okp.export", b"Ed25519", b"spki", b"public", b"", &public]), hex(ED25519_SPKI));
}

#[test]
fn okp_import_rejects_bad_keys() {
    let (_, private, public) = okp_import(b"Ed25519", &[b"pkcs8", &hex(ED25519_PKCS8)]);
    // An Ed25519 key is not an X25519 key, nor the other way round.
    assert_fails(&[b"okp.import", b"X25519", b"pkcs8", &hex(ED25519_PKCS8)], "DataError");
    assert_fails(&[b"okp.import", b"X25519", b"spki", &hex(ED25519_SPKI)], "DataError");
    assert_fails(&[b"okp.import", b"Ed25519", b"pkcs8", &hex(P256_PKCS8)], "DataError");
    assert_fails(&[b"okp.import", b"Ed25519", b"raw", &public[..31]], "DataError");
    assert_fails(&[b"okp.import", b"Ed25519", b"jwk-private", &public, &private[..31]], "DataError");
    let mut other = public.clone();
    other[0] ^= 1;
    let (name, message) = failure(&[b"okp.import", b"Ed25519", b"jwk-private", &other, &private]);
    assert_eq!((name, message.as_str()), ("DataError", "The JWK's \"d\" does not match its \"x\"."));
    assert_fails(&[b"okp.import", b"Ed448", b"raw", &public], "NotSupportedError");
    // PKCS#8 v2 carries the public key, which must match.
    let v2 = |public: &[u8]| {
        let mut der = hex("3051020101300506032b657004220420");
        der.extend_from_slice(&private);
        der.extend_from_slice(&[0x81, 0x21, 0x00]);
        der.extend_from_slice(public);
        der
    };
    assert_eq!(okp_import(b"Ed25519", &[b"pkcs8", &v2(&public)]).1, private);
    assert_fails(&[b"okp.import", b"Ed25519", b"pkcs8", &v2(&other)], "DataError");
}

// ---- Robustness ----

/// Every operation, given requests assembled from plausible and implausible fields: each gets a
/// reply (never a panic), and a failure is one of the four DOMExceptions.
#[test]
fn no_request_panics() {
    let ops: [&[u8]; 26] = [
        b"digest",
        b"hmac.sign",
        b"hmac.verify",
        b"hkdf",
        b"pbkdf2",
        b"aes.encrypt",
        b"aes.decrypt",
        b"rsa.generate",
        b"rsa.import",
        b"rsa.export",
        b"rsa.sign",
        b"rsa.verify",
        b"rsa.oaep.encrypt",
        b"rsa.oaep.decrypt",
        b"ec.generate",
        b"ec.import",
        b"ec.export",
        b"ecdsa.sign",
        b"ecdsa.verify",
        b"ecdh.derive",
        b"okp.generate",
        b"okp.import",
        b"okp.export",
        b"ed25519.sign",
        b"ed25519.verify",
        b"x25519.derive",
    ];
    let (rsa_private, ec_point) = (
        ok(&[b"rsa.import", b"pkcs8", &hex(RSA_PKCS8)]).swap_remove(1),
        ec_import(b"P-256", &[b"pkcs8", &hex(P256_PKCS8)]).2,
    );
    let pool: Vec<Vec<u8>> = [
        &b""[..],
        b"0",
        b"1",
        b"8",
        b"32",
        b"128",
        b"512",
        b"100001",
        b"99999999999",
        b"abc",
        b"SHA-256",
        b"SHA-1",
        b"P-256",
        b"P-521",
        b"Ed25519",
        b"X25519",
        b"AES-GCM",
        b"AES-CTR",
        b"AES-CBC",
        b"AES-KW",
        b"RSA-PSS",
        b"RSASSA-PKCS1-v1_5",
        b"raw",
        b"spki",
        b"pkcs8",
        b"jwk",
        b"jwk-public",
        b"jwk-private",
        b"public",
        b"private",
        &[0; 16],
        &[0xff; 16],
        &[1; 32],
        &[0xff; 33],
        &[4; 65],
        &[0; 66],
        &[1; 64],
        &[1, 0, 1],
        &[3],
    ]
    .iter()
    .map(|field| field.to_vec())
    .chain([rsa_private, ec_point, hex(P256_SPKI), hex(ED25519_PKCS8), hex(RSA_SPKI)])
    .collect();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |below: usize| {
        // xorshift64*: deterministic, so a failure reproduces.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % below
    };
    for op in ops {
        for _ in 0..150 {
            let count = next(10);
            let mut request: Vec<&[u8]> = vec![op];
            request.extend((0..count).map(|_| pool[next(pool.len())].as_slice()));
            if let Reply::Failed { name, message } = call(&request) {
                let known = ["OperationError", "DataError", "NotSupportedError", "InvalidAccessError"];
                assert!(known.contains(&name), "{name}: {message}");
                assert!(message.ends_with('.'), "{message:?}");
            }
        }
    }
}

/// A toy RSA key (n = 15) passes the library's consistency checks; every operation with it
/// fails cleanly instead of panicking.
#[test]
fn toy_rsa_keys_fail_cleanly() {
    let (kind, private, bits, _) = rsa_import(&[b"jwk-private", &[15], &[3], &[3], &[5], &[3], &[3], &[1], &[2]]);
    assert_eq!((kind.as_slice(), bits.as_str()), (&b"private"[..], "4"));
    let (_, public, ..) = rsa_import(&[b"jwk-public", &[15], &[3]]);
    for (scheme, salt) in [(&b"RSASSA-PKCS1-v1_5"[..], &b"0"[..]), (b"RSA-PSS", b"0")] {
        assert_fails(&[b"rsa.sign", scheme, b"SHA-1", &private, b"x", salt], "OperationError");
        assert!(!verified(&[b"rsa.verify", scheme, b"SHA-1", &public, b"x", &[1], salt]));
        assert!(!verified(&[b"rsa.verify", scheme, b"SHA-1", &public, b"x", &[], salt]));
    }
    assert_fails(&[b"rsa.oaep.encrypt", b"SHA-1", &public, b"", b""], "OperationError");
    assert_fails(&[b"rsa.oaep.decrypt", b"SHA-1", &private, &[1], b""], "OperationError");
    assert_eq!(rsa_export(b"jwk", b"private", &private).len(), 8);
}
