use _core::CacheOutcome;
use _core::{Code, EnvData, Limits, Pool, PoolConfig};

use crate::support::fixture;

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dynisolate-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_second_pool_reads_the_compiled_module_from_disk() {
    let dir = temp_dir("disk");
    let config = PoolConfig {
        max_isolates: 2,
        max_memory_bytes: 1 << 20,
        cache_dir: Some(dir.clone()),
        ..PoolConfig::default()
    };
    let code = fixture("numeric.wat");
    let first = Pool::new(config.clone()).unwrap();
    let (_, outcome) = first.load(Code::Wat(&code), EnvData::default(), Limits::default()).unwrap();
    assert_eq!(outcome, CacheOutcome::Compiled);
    let (_, outcome) = first.load(Code::Wat(&code), EnvData::default(), Limits::default()).unwrap();
    assert_eq!(outcome, CacheOutcome::Memory);
    let second = Pool::new(config).unwrap();
    let (_, outcome) = second.load(Code::Wat(&code), EnvData::default(), Limits::default()).unwrap();
    assert_eq!(outcome, CacheOutcome::Disk);
    assert_eq!(second.stats().compiles, 0);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_cache_file_is_recompiled() {
    let dir = temp_dir("corrupt");
    let config = PoolConfig {
        max_isolates: 2,
        max_memory_bytes: 1 << 20,
        cache_dir: Some(dir.clone()),
        ..PoolConfig::default()
    };
    let code = fixture("numeric.wat");
    Pool::new(config.clone()).unwrap().load(Code::Wat(&code), EnvData::default(), Limits::default()).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let pool = Pool::new(config).unwrap();
    let (_, outcome) = pool.load(Code::Wat(&code), EnvData::default(), Limits::default()).unwrap();
    assert_eq!(outcome, CacheOutcome::Compiled);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_world_writable_cache_dir_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("shared");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let config = PoolConfig {
        max_isolates: 1,
        max_memory_bytes: 1 << 20,
        cache_dir: Some(dir.clone()),
        ..PoolConfig::default()
    };
    assert!(matches!(Pool::new(config), Err(_core::Error::Config(_))));
    std::fs::remove_dir_all(&dir).unwrap();
}
