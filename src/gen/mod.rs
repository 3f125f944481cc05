//! Fixture generators; they write files only through [`crate::container::writer`].

pub mod hostile;
