//! The core without Python: fresh isolate + call, warm call and boots per second on one thread.
//! `cargo bench --bench core` (release build). Prints medians and p99 in microseconds.

use std::time::{Duration, Instant};

use _core::{Code, EnvData, Input, Limits, Pool, PoolConfig};
use wasmtime::Val;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e6
}

fn main() {
    let wat = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trivial.wat")).unwrap();
    let pool = Pool::new(PoolConfig::default()).unwrap();
    let guest = pool.load(Code::Wat(&wat), EnvData::default(), Limits::default()).unwrap().0;
    let add = guest.export("add").unwrap().clone();
    let bump = guest.export("bump").unwrap().clone();
    let args = [Val::I32(2), Val::I32(3)];
    let timeout = Duration::from_secs(1);

    for (name, export, args) in [("add", &add, &args[..]), ("bump (writes memory)", &bump, &[][..])] {
        let mut samples = Vec::with_capacity(100_000);
        for _ in 0..100_000 {
            let t = Instant::now();
            guest.call(export, Input::Numeric(args), None, timeout).result.unwrap();
            samples.push(t.elapsed());
        }
        samples.sort();
        println!(
            "fresh isolate + {name}: median {:.2} us, p99 {:.2} us",
            percentile(&samples, 0.5),
            percentile(&samples, 0.99)
        );
    }

    let mut isolate = guest.boot(None, timeout).unwrap();
    let mut samples = Vec::with_capacity(100_000);
    for _ in 0..100_000 {
        let t = Instant::now();
        isolate.call(&add, Input::Numeric(&args), None).unwrap();
        samples.push(t.elapsed());
    }
    samples.sort();
    println!("warm call: median {:.3} us", percentile(&samples, 0.5));

    let n = 200_000;
    let t = Instant::now();
    for _ in 0..n {
        guest.call(&add, Input::Numeric(&args), None, timeout).result.unwrap();
    }
    println!("boots/s on one thread: {:.0}", n as f64 / t.elapsed().as_secs_f64());

    let t = Instant::now();
    let source = "export default { handle(req, env) { return { id: req.id, items: req.items.map(x => x * 2), who: env.WHO }; } };";
    let mut env = EnvData::default();
    env.insert("WHO", &b"\"bench\""[..]);
    let runtime = _core::js::JsRuntime::shared(&pool).unwrap();
    let js =
        runtime.load("agent.js", &[("agent.js".into(), source.into())], &[], &env, &[], Limits::default()).unwrap();
    println!("JS engine ready + first load: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let args = br#"[{"id":7,"items":[1,2,3]}]"#;
    let call = _core::js::JsCall { name: "handle", args_json: args, fetch: false, props: false };
    let mut samples = Vec::with_capacity(5_000);
    for _ in 0..5_000 {
        let t = Instant::now();
        js.call(&call, None, None, timeout).result.unwrap();
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "JS fresh isolate + load + call (small JSON): median {:.1} us, p99 {:.1} us",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99)
    );
}
