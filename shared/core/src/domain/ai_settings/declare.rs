//! `ai_settings!`: the one list of AI settings (in `mod.rs`) becomes every shape a setting
//! takes, so a new setting is one entry there and nothing else:
//! - `AiSettings`, one level as stored (global or an account; `None` inherits), which the
//!   stores keep as JSON;
//! - `AiSettingsPatch`, a checked PUT, and `AiSettingsBody`, the PUT as a request writes it;
//! - `AiSettingsView`, a level as reads show it (secrets as `has_<name>`);
//! - `EffectiveAi`, the values in force with the level each came from, resolved account →
//!   global → environment → built-in default (the chat level is applied by `resolve`);
//! - `EnvAi::read`, the environment level, from the variables the list names;
//! - `fields()`, the list itself as data, from which the API document and the dashboard's form
//!   are written.
//!
//! Each entry names its value type (`SettingValue`: how it is checked and shown) and either a
//! built-in `default` or `same_as` an earlier setting whose resolved value it falls back to.
//! The logic lives in plain generic functions (`resolve.rs`, `value.rs`); the macro only
//! stamps one line per setting into each shape.

macro_rules! ai_settings {
    (
        values {
            $(
                $name:ident: $ty:ty {
                    $(default: $default:expr,)?
                    $(same_as: $same:ident,)?
                    $(env: $env:literal,)?
                    label: $label:literal,
                    help: $help:literal $(,)?
                }
            )*
        }
        secrets {
            $(
                $secret:ident {
                    $(same_as: $secret_same:ident,)?
                    $(env: $secret_env:literal,)?
                    label: $secret_label:literal,
                    help: $secret_help:literal $(,)?
                }
            )*
        }
    ) => {
        /// One level's settings (global or an account) as stored. `None` inherits from the
        /// level below.
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct AiSettings {
            $(pub $name: Option<$ty>,)*
            $(pub $secret: Option<SealedSecret>,)*
        }

        /// A checked change to one level. `S` is a secret as it travels: in the clear from a
        /// request (`SecretString`) until the use-case seals it.
        #[derive(Debug, Clone, PartialEq)]
        pub struct AiSettingsPatch<S = SealedSecret> {
            $(pub $name: Change<$ty>,)*
            $(pub $secret: Change<S>,)*
        }

        impl<S> Default for AiSettingsPatch<S> {
            fn default() -> Self {
                Self {
                    $($name: Change::Keep,)*
                    $($secret: Change::Keep,)*
                }
            }
        }

        impl AiSettings {
            pub fn apply(&mut self, patch: AiSettingsPatch) {
                $(patch.$name.apply_to(&mut self.$name);)*
                $(patch.$secret.apply_to(&mut self.$secret);)*
            }
        }

        impl AiSettingsPatch<SecretString> {
            /// The same change with each secret it sets sealed by `seal(name, plain)`.
            pub async fn seal<'a, E>(
                self,
                seal: impl Fn(&'static str, SecretString) -> Sealing<'a, E>,
            ) -> Result<AiSettingsPatch, E> {
                Ok(AiSettingsPatch {
                    $($name: self.$name,)*
                    $($secret: match self.$secret {
                        Change::Keep => Change::Keep,
                        Change::Clear => Change::Clear,
                        Change::Set(plain) => Change::Set(seal(stringify!($secret), plain).await?),
                    },)*
                })
            }
        }

        /// A PUT of the global or an account level. A field left out keeps its value; `null`
        /// clears it (inherit from the level below); secrets are write-only.
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct AiSettingsBody {
            $(#[serde(default)] $secret: Change<String>,)*
            $(#[serde(default)] $name: Change<<$ty as SettingValue>::Wire>,)*
        }

        impl AiSettingsBody {
            /// Checks every field; the first bad one is the error (nothing is written).
            pub fn check(self) -> Result<AiSettingsPatch<SecretString>, ValidationError> {
                $(let $secret = self.$secret.try_map(|v| secret(stringify!($secret), v))?;)*
                Ok(AiSettingsPatch {
                    $($name: self
                        .$name
                        .try_map(|v| <$ty as SettingValue>::parse(stringify!($name), v))?,)*
                    $($secret,)*
                })
            }
        }

        /// One level as reads show it: `null` inherits; a secret only as `has_<name>`.
        #[derive(Debug, Clone)]
        pub struct AiSettingsView(pub AiSettings);

        impl serde::Serialize for AiSettingsView {
            fn serialize<Z: serde::Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
                use serde::ser::SerializeMap;
                let mut map = z.serialize_map(None)?;
                $(map.serialize_entry(
                    stringify!($name),
                    &self.0.$name.as_ref().map(SettingValue::shown),
                )?;)*
                $(map.serialize_entry(
                    concat!("has_", stringify!($secret)),
                    &self.0.$secret.is_some(),
                )?;)*
                map.end()
            }
        }

        /// The configuration in force for one chat (or one account, or globally), each value
        /// with the level it came from. Secrets are shown as `has_<name>`; where they are is
        /// kept to open them when a request is about to be made.
        #[derive(Debug, Clone)]
        pub struct EffectiveAi {
            $(pub $name: Sourced<<$ty as SettingValue>::Shown>,)*
            $(pub $secret: SecretSetting,)*
        }

        impl serde::Serialize for EffectiveAi {
            fn serialize<Z: serde::Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
                use serde::ser::SerializeMap;
                let mut map = z.serialize_map(None)?;
                $(map.serialize_entry(stringify!($name), &self.$name)?;)*
                $(map.serialize_entry(concat!("has_", stringify!($secret)), &self.$secret.shown())?;)*
                map.end()
            }
        }

        impl EffectiveAi {
            /// Account → global → environment → built-in default, per setting.
            pub(super) fn from_levels(levels: &Levels<'_>) -> Self {
                $(let $name = ai_settings!(
                    @value levels, $name, $ty, [default $($default)?] [same $($same)?]
                );)*
                $(let $secret = ai_settings!(
                    @secret levels, $secret, [same $($secret_same)?]
                );)*
                Self {
                    $($name,)*
                    $($secret,)*
                }
            }

            /// Setting → level, as `config_source` in the test endpoints.
            pub fn sources(&self) -> BTreeMap<&'static str, Source> {
                BTreeMap::from([
                    $((stringify!($name), self.$name.source),)*
                    $((stringify!($secret), self.$secret.source),)*
                ])
            }
        }

        impl EnvAi {
            /// The environment level, from the variables the settings name. A bad value is
            /// the variable's name and what is wrong with it.
            pub fn read(var: impl Fn(&str) -> Option<String>) -> Result<Self, (&'static str, String)> {
                let mut env = Self::default();
                $($(if let Some(text) = var($env) {
                    let value = <$ty as SettingValue>::from_env(&text).map_err(|e| ($env, e))?;
                    env.settings.$name = Some(value);
                })?)*
                $($(if let Some(text) = var($secret_env) {
                    env.secrets.insert(stringify!($secret), SecretString::from(text));
                })?)*
                Ok(env)
            }
        }

        /// Every setting, values first, in the order they are declared.
        pub fn fields() -> Vec<Field> {
            vec![
                $(Field {
                    name: stringify!($name),
                    kind: <$ty as SettingValue>::KIND,
                    fallback: ai_settings!(@fallback $name, $ty, [default $($default)?] [same $($same)?]),
                    env: ai_settings!(@env $($env)?),
                    label: $label,
                    help: $help,
                },)*
                $(Field {
                    name: stringify!($secret),
                    kind: Kind::Secret,
                    fallback: ai_settings!(@secret_fallback $($secret_same)?),
                    env: ai_settings!(@env $($secret_env)?),
                    label: $secret_label,
                    help: $secret_help,
                },)*
            ]
        }
    };

    // A value with a built-in default, read once.
    (@value $levels:ident, $name:ident, $ty:ty, [default $default:expr] [same]) => {
        pick($levels, |s| s.$name.as_ref()).unwrap_or_else(|| {
            static BUILTIN: std::sync::LazyLock<$ty> =
                std::sync::LazyLock::new(|| builtin::<$ty>(stringify!($name), $default));
            Sourced { value: BUILTIN.shown(), source: Source::Default }
        })
    };
    // A value that falls back to another setting's, wherever that came from.
    (@value $levels:ident, $name:ident, $ty:ty, [default] [same $same:ident]) => {
        pick($levels, |s| s.$name.as_ref()).unwrap_or_else(|| $same.clone())
    };
    (@secret $levels:ident, $secret:ident, [same]) => {
        pick_secret($levels, stringify!($secret), |s| s.$secret.as_ref()).unwrap_or_default()
    };
    (@secret $levels:ident, $secret:ident, [same $same:ident]) => {
        pick_secret($levels, stringify!($secret), |s| s.$secret.as_ref())
            .unwrap_or_else(|| $same.clone())
    };
    // The default as the list writes it (parsing it here would cost every start a URL
    // pattern's compilation, as the routers describe the settings; the tests parse them all).
    (@fallback $name:ident, $ty:ty, [default $default:expr] [same]) => {
        Fallback::Value(serde_json::json!($default))
    };
    (@fallback $name:ident, $ty:ty, [default] [same $same:ident]) => {
        Fallback::SameAs(stringify!($same))
    };
    (@secret_fallback) => { Fallback::Nothing };
    (@secret_fallback $same:ident) => { Fallback::SameAs(stringify!($same)) };
    (@env) => { None };
    (@env $env:literal) => { Some($env) };
}

pub(super) use ai_settings;
