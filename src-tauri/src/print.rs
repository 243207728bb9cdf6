//! Printing a message and saving it as PDF: the window's page as print media shows it (the
//! open message alone; see `@media print` in the window's styles).

use std::path::Path;

use tauri::WebviewWindow;

/// Writes the window's page, as it would print, to a PDF file at `to`, without a dialog.
///
/// # Errors
/// A sentence for the person when the page cannot be printed to the file.
#[cfg(target_os = "linux")]
pub async fn save_pdf(window: &WebviewWindow, to: &Path) -> Result<(), String> {
    use std::{cell::RefCell, rc::Rc};
    use webkit2gtk::PrintOperationExt;

    let uri = gtk::glib::filename_to_uri(to, None)
        .map_err(|e| format!("{} cannot be written to: {e}", to.display()))?
        .to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<(), String>>();
    window
        .with_webview(move |webview| {
            let settings = gtk::PrintSettings::new();
            // GTK's print-to-file printer, by the name GTK gives it in the person's language.
            let printer = gtk::glib::dgettext(Some("gtk30"), "Print to File");
            settings.set_printer(&printer);
            settings.set(gtk::PRINT_SETTINGS_OUTPUT_FILE_FORMAT, Some("pdf"));
            settings.set(gtk::PRINT_SETTINGS_OUTPUT_URI, Some(&uri));
            let operation = webkit2gtk::PrintOperation::new(&webview.inner());
            operation.set_print_settings(&settings);
            // Either signal ends it; the operation is kept alive until then.
            let done = Rc::new(RefCell::new(Some((tx, operation.clone()))));
            let on_fail = done.clone();
            operation.connect_failed(move |_, error| {
                if let Some((tx, _)) = on_fail.borrow_mut().take() {
                    let _ = tx.send(Err(error.to_string()));
                }
            });
            operation.connect_finished(move |_| {
                if let Some((tx, _)) = done.borrow_mut().take() {
                    let _ = tx.send(Ok(()));
                }
            });
            operation.print();
        })
        .map_err(|e| e.to_string())?;
    rx.await
        .map_err(|_| "printing stopped before it finished".to_owned())?
        .map_err(|e| format!("the page could not be printed to {}: {e}", to.display()))
}

/// Elsewhere the system's print dialog offers Save as PDF (macOS) or Microsoft Print to
/// PDF (Windows).
///
/// # Errors
/// Always: a sentence naming that way.
#[cfg(not(target_os = "linux"))]
pub async fn save_pdf(_window: &WebviewWindow, _to: &Path) -> Result<(), String> {
    Err("use Print and choose Save as PDF in the print dialog".to_owned())
}
