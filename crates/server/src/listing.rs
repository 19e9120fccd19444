//! Lists as the API answers them: `{"value": [...]}` after the query (filters, search, `$orderby`, paging)
//! is applied to the items' JSON. The fields a query may name are the item type's own serialized field
//! names, read from its `Deserialize` implementation, so they are known even when the list is empty.

use std::marker::PhantomData;

use axum::Json;
use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use bulwark_core::recommendation::{Recommendation, VulnerabilitySummary};
use bulwark_engine::{MachineView, SoftwareView};

use crate::error::ApiError;
use crate::odata::Query;
use crate::views::InstalledSoftware;

/// A list response: MDVM's OData collection shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    /// The items.
    pub value: Vec<Value>,
}

/// An item type the API lists.
pub(crate) trait Listed: Serialize + DeserializeOwned {
    /// The name-like fields `search=` looks in.
    const SEARCH_FIELDS: &'static [&'static str];
}

impl Listed for Recommendation {
    const SEARCH_FIELDS: &'static [&'static str] = &[
        "productName",
        "recommendationName",
        "vendor",
        "relatedComponent",
    ];
}

impl Listed for MachineView {
    const SEARCH_FIELDS: &'static [&'static str] = &["computerDnsName"];
}

impl Listed for VulnerabilitySummary {
    const SEARCH_FIELDS: &'static [&'static str] = &["id", "name", "description"];
}

impl Listed for SoftwareView {
    const SEARCH_FIELDS: &'static [&'static str] = &["name", "vendor", "version"];
}

impl Listed for InstalledSoftware {
    const SEARCH_FIELDS: &'static [&'static str] = &["name", "vendor", "version", "purl"];
}

/// A query whose field names were checked against the item type `T`.
pub(crate) struct Checked<T> {
    query: Query,
    item: PhantomData<fn() -> T>,
}

/// Whether a query names `field` in a plain parameter or in its `$filter` (lists that hide some items
/// by default — recommendations in status `Exception` — show whatever such a query selects).
pub(crate) fn names_field(query: &Query, field: &str) -> bool {
    query.equals.contains_key(field)
        || query
            .filter
            .as_ref()
            .is_some_and(|f| f.fields().contains(&field))
}

/// Checks the fields a query names against `T`'s; done before the engine is asked, so a bad query costs
/// nothing.
pub(crate) fn check<T: Listed>(query: Query) -> Result<Checked<T>, ApiError> {
    query.check_fields(&field_names::<T>())?;
    Ok(Checked {
        query,
        item: PhantomData,
    })
}

impl<T: Listed> Checked<T> {
    /// Applies the query to the items and wraps the result as a collection.
    pub(crate) fn apply(&self, items: Vec<T>) -> Result<Json<Collection>, ApiError> {
        let values = items
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<Value>, _>>()
            .map_err(|e| ApiError::internal("serializing a list failed", &e))?;
        Ok(Json(Collection {
            value: self.query.apply(values, T::SEARCH_FIELDS),
        }))
    }
}

/// The serialized field names of a struct, as its derived `Deserialize` declares them (after
/// `rename_all`). Empty for types that are not plain structs.
pub(crate) fn field_names<T: DeserializeOwned>() -> Vec<&'static str> {
    let mut fields = None;
    // The introspecting deserializer always fails after recording the fields; the error says nothing.
    let _ = T::deserialize(FieldNames { out: &mut fields });
    fields.map(<[&str]>::to_vec).unwrap_or_default()
}

/// A deserializer that records the field list a derived `Deserialize` passes to `deserialize_struct`.
struct FieldNames<'a> {
    out: &'a mut Option<&'static [&'static str]>,
}

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.out = Some(fields);
        Err(de::Error::custom("field names recorded"))
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        product_name: String,
        #[serde(rename = "cvssV3")]
        cvss_v3: Option<f64>,
        tags: Vec<String>,
    }

    fn serialized_keys<T: Serialize>(item: &T) -> Vec<String> {
        match serde_json::to_value(item) {
            Ok(Value::Object(map)) => map.keys().cloned().collect(),
            other => panic!("not an object: {other:?}"),
        }
    }

    #[test]
    fn field_names_are_the_serialized_keys() {
        let sample = Sample {
            product_name: "x".into(),
            cvss_v3: None,
            tags: vec![],
        };
        let mut keys = serialized_keys(&sample);
        keys.sort();
        let mut fields = field_names::<Sample>();
        fields.sort();
        assert_eq!(fields, keys);
        assert_eq!(field_names::<String>(), Vec::<&str>::new());
    }

    fn check_search_fields<T: Listed>() {
        let fields = field_names::<T>();
        assert!(
            !fields.is_empty(),
            "{} has no fields",
            std::any::type_name::<T>()
        );
        for f in T::SEARCH_FIELDS {
            assert!(
                fields.contains(f),
                "{} has no field {f}: {fields:?}",
                std::any::type_name::<T>()
            );
        }
    }

    #[test]
    fn search_fields_exist() {
        check_search_fields::<Recommendation>();
        check_search_fields::<MachineView>();
        check_search_fields::<VulnerabilitySummary>();
        check_search_fields::<SoftwareView>();
        check_search_fields::<InstalledSoftware>();
    }
}
