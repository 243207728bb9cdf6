//! Dragging an attachment out of the window to a file manager or the desktop: the window
//! offers a file (a private copy, as for Open) through the desktop's own drag and drop.
//!
//! On Linux this is GTK's drag source, set on the window only for the one drag. (The `drag`
//! crate does the same but writes `file://` addresses without percent-encoding, so a file
//! named "Care plan.pdf" would not be found by the receiver.)

use std::path::Path;

use tauri::WebviewWindow;

/// Starts dragging `file` out of `window`; the pointer's button is held. Runs the drag on
/// the window's (main) thread and returns at once.
///
/// # Errors
/// A sentence for the person when the drag cannot start.
#[cfg(target_os = "linux")]
pub fn start(window: &WebviewWindow, file: &Path) -> Result<(), String> {
    let uri = gtk::glib::filename_to_uri(file, None)
        .map_err(|e| format!("{} cannot be offered: {e}", file.display()))?
        .to_string();
    let owner = window.clone();
    window
        .run_on_main_thread(move || {
            use gtk::prelude::*;
            use std::{cell::RefCell, rc::Rc};
            let Ok(toplevel) = owner.gtk_window() else {
                tracing::warn!("the window has no GTK window to drag from");
                return;
            };
            toplevel.drag_source_set(
                gtk::gdk::ModifierType::BUTTON1_MASK,
                &[],
                gtk::gdk::DragAction::COPY,
            );
            toplevel.drag_source_add_uri_targets();
            let give = toplevel.connect_drag_data_get(move |_, _, data, _, _| {
                data.set_uris(&[uri.as_str()]);
            });
            // When the drag ends (dropped or not), the window stops being a drag source:
            // an ordinary press-and-move in it must never start another.
            let handlers = Rc::new(RefCell::new(vec![give]));
            let ended = handlers.clone();
            let end = toplevel.connect_drag_end(move |w, _| {
                w.drag_source_unset();
                for h in ended.borrow_mut().drain(..) {
                    w.disconnect(h);
                }
            });
            handlers.borrow_mut().push(end);
            let started = toplevel.drag_source_get_target_list().and_then(|targets| {
                toplevel.drag_begin_with_coordinates(
                    &targets,
                    gtk::gdk::DragAction::COPY,
                    1,
                    None,
                    -1,
                    -1,
                )
            });
            if started.is_none() {
                toplevel.drag_source_unset();
                for h in handlers.borrow_mut().drain(..) {
                    toplevel.disconnect(h);
                }
                tracing::warn!("the desktop refused to start a drag");
            }
        })
        .map_err(|e| e.to_string())
}

/// Dragging files out is built for Linux (GTK) so far; elsewhere Save and Open do it.
///
/// # Errors
/// Always: a sentence naming those.
#[cfg(not(target_os = "linux"))]
pub fn start(_window: &WebviewWindow, _file: &Path) -> Result<(), String> {
    Err("drag the file after saving it, or use Save or Open".to_owned())
}
