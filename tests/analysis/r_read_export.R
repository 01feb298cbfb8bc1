# Reads petdx export-r's folder the way a user would and prints what R sees, for
# tests/analysis/test_analysis_dictionary.py. Run: Rscript r_read_export.R FOLDER OUT.csv
# OUT.csv: one row per table x column x row: R's class, the label attribute, the value as
# text (a factor's label, TRUE/FALSE, a Date's YYYY-MM-DD, a number to 15 significant
# digits; "" for NA).
args <- commandArgs(trailingOnly = TRUE)
source(file.path(args[1], "analysis_sets.R"), chdir = TRUE)
tables <- c("analysis_patients", "analysis_lesions", "analysis_pdl1_lesions", "screening_log")
out <- list()
for (t in tables[sapply(tables, exists)]) {
  frame <- get(t)
  for (column in names(frame)) {
    x <- frame[[column]]
    text <- if (is.numeric(x)) formatC(x, digits = 15, format = "g") else as.character(x)
    text[is.na(x)] <- ""
    out[[length(out) + 1]] <- data.frame(
      table = t, column = column, row = seq_along(x), class = class(x)[1],
      label = attr(x, "label"), value = trimws(text), stringsAsFactors = FALSE)
  }
}
write.csv(do.call(rbind, out), args[2], row.names = FALSE, fileEncoding = "UTF-8")
