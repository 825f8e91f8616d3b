#include "upstream_demo/request.h"

#include <strings.h>

namespace demo {

const std::string* RequestHead::findHeader(std::string_view name) const {
  for (const Header& header : headers) {
    if (header.name.size() == name.size() &&
        strncasecmp(header.name.data(), name.data(), name.size()) == 0) {
      return &header.value;
    }
  }
  return nullptr;
}

}  // namespace demo
