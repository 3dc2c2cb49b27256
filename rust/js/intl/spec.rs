//! A formatter's spec (see the module docs of `js/intl/`): the service, the resolved locale and
//! the options the guest resolved, as `service;locale=...;key=value...`.

use icu_locale_core::Locale;

use super::Reply;

pub struct Spec<'s> {
    pub service: &'s str,
    pub locale: Locale,
    options: Vec<(&'s str, &'s str)>,
}

impl<'s> Spec<'s> {
    pub fn parse(text: &'s str) -> Result<Spec<'s>, Reply> {
        let malformed = || Reply::TypeError(format!("Intl: malformed spec {text:?}"));
        let mut items = text.split(';');
        let service = items.next().ok_or_else(malformed)?;
        let mut options = Vec::new();
        let mut locale = None;
        for item in items {
            let (key, value) = item.split_once('=').ok_or_else(malformed)?;
            if key == "locale" {
                locale = Some(Locale::try_from_str(value).map_err(|_| malformed())?);
            } else {
                options.push((key, value));
            }
        }
        Ok(Spec { service, locale: locale.ok_or_else(malformed)?, options })
    }

    /// The option `key`, when the guest gave one.
    pub fn get(&self, key: &str) -> Option<&'s str> {
        self.options.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The option `key` as a small number; `None` when absent.
    pub fn number(&self, key: &str) -> Result<Option<i16>, Reply> {
        self.get(key)
            .map(|value| {
                value.parse().map_err(|_| Reply::TypeError(format!("Intl: option {key}={value:?} is no number")))
            })
            .transpose()
    }

    /// The option `key`, which must be one of the values `choose` maps; `default` when absent.
    pub fn choice<T>(&self, key: &str, default: T, choose: impl Fn(&str) -> Option<T>) -> Result<T, Reply> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => {
                choose(value).ok_or_else(|| Reply::RangeError(format!("Value {value} out of range for {key}")))
            }
        }
    }
}
