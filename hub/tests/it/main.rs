//! Integration tests of the hub: a real server on 127.0.0.1, a temporary data directory,
//! a clock the tests move, and real HTTP.

mod address_book;
mod at_rest;
mod authz;
mod backup;
mod bucket;
mod check;
mod cli;
mod delegates;
mod limits;
mod mailbox;
mod mfa;
mod migrate;
mod notifications;
mod openapi;
mod org;
mod outgoing;
mod postgres;
mod registration;
mod reset;
mod retention;
mod sessions;
mod smtp;
mod smtp_in;
mod storage;
mod support;
mod sync;
mod updates;
