#ifndef TOKENWATCH_CXLSX_SHIM_H
#define TOKENWATCH_CXLSX_SHIM_H

#include <xlsxwriter.h>

/* libxlsxwriter (Debian's libxlsxwriter-dev) writes the auditors' spreadsheet. xlsxwriter.h is
   included by this one module only. The options struct is filled here so the Swift side never
   depends on its field order across library versions. */

/* A workbook that writes each worksheet row by row to a temporary file instead of keeping it
   in memory: the report is written in row order, and 100,000 pages stay small. */
static inline lxw_workbook *tw_workbook_new_streaming(const char *filename) {
    lxw_workbook_options options = {0};
    options.constant_memory = LXW_TRUE;
    return workbook_new_opt(filename, &options);
}

#endif
